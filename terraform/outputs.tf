output "lake_bucket" {
  value = google_storage_bucket.lake.name
}

output "artifacts_bucket" {
  description = "Deploy and ML artifacts (Settings.ml_bucket of the code): streaming/app-events.json, templates/, pipelines/, models/, dataflow/."
  value       = google_storage_bucket.artifacts.name
}

output "functions_source_object" {
  value = "gs://${google_storage_bucket.functions_source.name}/${google_storage_bucket_object.functions_source.name}"
}

output "function_uris" {
  value = { for name, fn in google_cloudfunctions2_function.fn : name => fn.service_config[0].uri }
}

output "image_registry" {
  description = "Where `rillflow deploy` pushes the images."
  value       = local.image_registry
}

output "image_uris" {
  description = "The streaming, pipeline-step and serving images at var.image_tag."
  value       = local.images
}

output "streaming_template_path" {
  value = local.artifacts.flex_template
}

output "pipeline_templates_uri" {
  value = local.artifacts.pipeline_templates
}

output "workflow" {
  value = google_workflows_workflow.daily_pipeline.id
}

output "dataform_repository" {
  value = google_dataform_repository.rillflow.id
}

output "lake_connection" {
  description = "BigLake connection of the external tables (the lake_connection Dataform var)."
  value       = local.lake_connection
}

output "service_accounts" {
  value = {
    dataflow  = google_service_account.dataflow.email
    dataform  = google_service_account.dataform.email
    vertex    = google_service_account.vertex.email
    workflows = google_service_account.workflows.email
  }
}

output "forecast_endpoint" {
  value = google_vertex_ai_endpoint.forecast.id
}

output "forecast_deployment" {
  description = "How the deploy step deploys the forecasting model onto the endpoint (the provider cannot, see vertex.tf)."
  value       = local.forecast_deployment
}
