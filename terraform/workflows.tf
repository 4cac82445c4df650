# The daily pipeline workflow: the same YAML the local runner executes.
resource "google_service_account" "workflows" {
  account_id   = "rillflow-workflows"
  display_name = "Rillflow daily pipeline workflow"
}

resource "google_project_iam_member" "workflows" {
  for_each = toset([
    "roles/dataform.editor",        # compilationResults.create, workflowInvocations.create/get
    "roles/aiplatform.user",        # pipelineJobs.create/get
    "roles/dataflow.developer",     # flexTemplates.launch, jobs.get
    "roles/datastore.user",         # pipeline_runs documents
    "roles/logging.logWriter",
  ])
  project = var.project_id
  role    = each.value
  member  = "serviceAccount:${google_service_account.workflows.email}"
}

resource "google_pubsub_topic_iam_member" "workflows_alerts" {
  topic  = google_pubsub_topic.alerts.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.workflows.email}"
}

resource "google_cloud_run_service_iam_member" "workflows_invokes" {
  for_each = toset(["export_sales", "compact_app_events"])
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.workflows.email}"
}

# The workflow hands work to Dataflow and Vertex AI under their own identities.
resource "google_service_account_iam_member" "workflows_acts_as" {
  for_each           = { dataflow = google_service_account.dataflow.name, vertex = google_service_account.vertex.name }
  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.workflows.email}"
}

resource "google_workflows_workflow" "daily_pipeline" {
  name            = "daily_pipeline"
  region          = var.region
  service_account = google_service_account.workflows.id
  source_contents = file("${path.module}/../workflows/daily_pipeline.yaml")
  user_env_vars = {
    EXPORT_SALES_URL         = google_cloudfunctions2_function.fn["export_sales"].service_config[0].uri
    COMPACT_APP_EVENTS_URL   = google_cloudfunctions2_function.fn["compact_app_events"].service_config[0].uri
    DATAFORM_REPOSITORY      = google_dataform_repository.rillflow.name
    DATAFORM_RELEASE_CONFIG  = google_dataform_repository_release_config.main.name
    DATAFORM_SERVICE_ACCOUNT = google_service_account.dataform.email
    ALERTS_TOPIC             = google_pubsub_topic.alerts.name
    PIPELINE_ROOT            = "gs://${google_storage_bucket.artifacts.name}/pipelines"
    VERTEX_SERVICE_ACCOUNT   = google_service_account.vertex.email
    PIPELINE_TEMPLATES_URI   = "gs://${google_storage_bucket.artifacts.name}/pipeline-templates"
  }
  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "finalize_fn_invokes_workflow" {
  project = var.project_id
  role    = "roles/workflows.invoker"
  member  = "serviceAccount:${google_service_account.function["on_bronze_object_finalized"].email}"
}
