# The daily pipeline workflow: the same YAML the local runner executes.
resource "google_service_account" "workflows" {
  account_id   = "rillflow-workflows"
  display_name = "Rillflow daily pipeline workflow"
  depends_on   = [google_project_service.apis["iam"]]
}

# Roles that exist only on the project, each with why.
resource "google_project_iam_member" "workflows" {
  for_each = toset([
    "roles/aiplatform.user",   # pipelineJobs.create/get: Vertex AI pipeline jobs have no resource-level IAM
    "roles/logging.logWriter", # execution call logs: Cloud Logging write exists only on the project
  ])
  project    = var.project_id
  role       = each.value
  member     = google_service_account.workflows.member
  depends_on = [google_project_service.apis["cloudresourcemanager"]]
}

# pipeline_runs/{run_id} documents, in the one database.
resource "google_project_iam_member" "workflows_firestore" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.workflows.member
  condition {
    title      = local.firestore_condition.title
    expression = local.firestore_condition.expression
  }
  depends_on = [google_project_service.apis["cloudresourcemanager"]]
}

# compilationResults.create, workflowInvocations.create/get on the one repository.
resource "google_dataform_repository_iam_member" "workflows_runs_dataform" {
  provider   = google-beta
  project    = var.project_id
  region     = var.region
  repository = google_dataform_repository.rillflow.name
  role       = "roles/dataform.editor"
  member     = google_service_account.workflows.member
}

resource "google_pubsub_topic_iam_member" "workflows_alerts" {
  topic  = google_pubsub_topic.alerts.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.workflows.member
}

resource "google_cloud_run_service_iam_member" "workflows_invokes" {
  for_each = toset(["export_sales", "compact_app_events"])
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.workflows.member
}

# The workflow hands work to Dataform and Vertex AI under their own identities (Dataform's strict
# act-as mode requires actAs on the invocation's service account).
resource "google_service_account_iam_member" "workflows_acts_as" {
  for_each           = { dataform = google_service_account.dataform.name, vertex = google_service_account.vertex.name }
  service_account_id = each.value
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.workflows.member
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
    # the deployment's Dataform vars (the compile passes them with the project and location)
    LAKE_BUCKET              = local.dataform_vars.lake_bucket
    DATAFORM_LAKE_CONNECTION = local.dataform_vars.lake_connection
    ALERTS_TOPIC             = google_pubsub_topic.alerts.name
    PIPELINE_ROOT            = local.artifacts.pipeline_root
    VERTEX_SERVICE_ACCOUNT   = google_service_account.vertex.email
    PIPELINE_TEMPLATES_URI   = local.artifacts.pipeline_templates
    # the daily pipeline's ml_settings parameter (vertex.tf)
    VERTEX_ML_SETTINGS = jsonencode(local.vertex_ml_settings)
  }
  depends_on = [google_project_service.apis["workflows"], google_project_service.apis["workflowexecutions"]]
}

resource "google_project_iam_member" "finalize_fn_invokes_workflow" {
  project = var.project_id
  # Workflows has no per-workflow IAM policy: the invoker role exists only on the project.
  role       = "roles/workflows.invoker"
  member     = google_service_account.function["on_bronze_object_finalized"].member
  depends_on = [google_project_service.apis["cloudresourcemanager"]]
}
