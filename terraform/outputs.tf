output "lake_bucket" {
  value = google_storage_bucket.lake.name
}

output "function_uris" {
  value = { for name, fn in google_cloudfunctions2_function.fn : name => fn.service_config[0].uri }
}

output "workflow" {
  value = google_workflows_workflow.daily_pipeline.id
}

output "forecast_endpoint" {
  value = google_vertex_ai_endpoint.forecast.id
}
