# The Beam streaming job (Dataflow Flex Template), its worker identity, and the launcher that keeps
# it running.
resource "google_service_account" "dataflow" {
  account_id   = "rillflow-dataflow"
  display_name = "Rillflow streaming pipeline workers"
  depends_on   = [google_project_service.apis["iam"]]
}

resource "google_project_iam_member" "dataflow_worker" {
  project = var.project_id
  # Dataflow's worker permissions (work items, shuffle, metrics) exist only on the project.
  role       = "roles/dataflow.worker"
  member     = google_service_account.dataflow.member
  depends_on = [google_project_service.apis["cloudresourcemanager"], google_project_service.apis["dataflow"]]
}

resource "google_pubsub_subscription_iam_member" "dataflow_reads" {
  subscription = google_pubsub_subscription.app_events_beam.id
  role         = "roles/pubsub.subscriber"
  member       = google_service_account.dataflow.member
}

resource "google_pubsub_topic_iam_member" "dataflow_deadletters" {
  topic  = google_pubsub_topic.app_events_deadletter.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.dataflow.member
}

resource "google_bigquery_dataset_access" "dataflow_streaming" {
  # an access entry, as every dataset grant (warehouse.tf says why)
  dataset_id    = google_bigquery_dataset.layer["streaming"].dataset_id
  role          = "WRITER"
  user_by_email = google_service_account.dataflow.email
}

resource "google_project_iam_member" "dataflow_bq_jobs" {
  project = var.project_id
  # BigQuery jobs (the hourly merge's load and MERGE) are created in the project: jobUser has no
  # dataset-level form. Table access is the dataset binding above.
  role       = "roles/bigquery.jobUser"
  member     = google_service_account.dataflow.member
  depends_on = [google_project_service.apis["cloudresourcemanager"], google_project_service.apis["bigquery"]]
}

# --- the launcher --------------------------------------------------------------------------------------
# workflows/streaming_launcher.yaml, run hourly by Cloud Scheduler, lists the active jobs and
# launches the Flex Template when the job is not running. It has its own identity: launching
# Dataflow jobs is nothing the daily pipeline needs.

resource "google_service_account" "streaming_launcher" {
  account_id   = "rillflow-streaming-launcher"
  display_name = "Rillflow streaming launcher workflow"
  depends_on   = [google_project_service.apis["iam"]]
}

# Dataflow has no job-level IAM, so launching is granted on the project, but as a custom role with
# the three permissions the launcher uses instead of roles/dataflow.developer (which can also
# cancel, update and snapshot any job).
resource "google_project_iam_custom_role" "dataflow_launcher" {
  role_id     = "rillflowDataflowLauncher"
  title       = "Rillflow Dataflow launcher"
  description = "List and get Dataflow jobs, launch a Flex Template job."
  permissions = ["dataflow.jobs.create", "dataflow.jobs.get", "dataflow.jobs.list", "resourcemanager.projects.get"]
  depends_on  = [google_project_service.apis["iam"]]
}

resource "google_project_iam_member" "launcher_launches" {
  project = var.project_id
  # the custom role above: Dataflow has no job-level IAM
  role       = google_project_iam_custom_role.dataflow_launcher.name
  member     = google_service_account.streaming_launcher.member
  depends_on = [google_project_service.apis["cloudresourcemanager"], google_project_service.apis["dataflow"]]
}

resource "google_service_account_iam_member" "launcher_acts_as_dataflow" {
  service_account_id = google_service_account.dataflow.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.streaming_launcher.member
}

resource "google_workflows_workflow" "streaming_launcher" {
  name            = "streaming_launcher"
  region          = var.region
  service_account = google_service_account.streaming_launcher.id
  source_contents = file("${path.module}/../workflows/streaming_launcher.yaml")
  user_env_vars = {
    APP_EVENTS_SUBSCRIPTION     = google_pubsub_subscription.app_events_beam.name
    APP_EVENTS_DEADLETTER_TOPIC = google_pubsub_topic.app_events_deadletter.name
    LAKE_BUCKET                 = google_storage_bucket.lake.name
    STREAMING_WAREHOUSE         = "bigquery"
    STREAMING_DATASET           = google_bigquery_dataset.layer["streaming"].dataset_id
    STREAMING_TEMPLATE_PATH     = local.artifacts.flex_template
    STREAMING_SDK_IMAGE         = local.images["streaming"]
    STREAMING_STAGING_LOCATION  = local.artifacts.dataflow_staging
    STREAMING_TEMP_LOCATION     = local.artifacts.dataflow_temp
    DATAFLOW_SERVICE_ACCOUNT    = google_service_account.dataflow.email
  }
  depends_on = [google_project_service.apis["workflows"]]
}

resource "google_project_iam_member" "scheduler_runs_launcher" {
  project = var.project_id
  # Workflows has no per-workflow IAM policy: the invoker role exists only on the project.
  role       = "roles/workflows.invoker"
  member     = google_service_account.scheduler.member
  depends_on = [google_project_service.apis["cloudresourcemanager"], google_project_service.apis["workflowexecutions"]]
}

resource "google_cloud_scheduler_job" "streaming_launcher" {
  name      = "streaming-launcher-hourly"
  region    = var.region
  schedule  = "7 * * * *"
  time_zone = "Etc/UTC"

  http_target {
    http_method = "POST"
    uri         = "https://workflowexecutions.googleapis.com/v1/${google_workflows_workflow.streaming_launcher.id}/executions"
    body        = base64encode(jsonencode({ argument = jsonencode({ job_name = "app-events-streaming" }) }))
    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }
  depends_on = [google_project_service.apis["cloudscheduler"], google_project_iam_member.scheduler_runs_launcher]
}

# The hourly aggregates the streaming job merges into.
resource "google_bigquery_table" "app_events_hourly" {
  #checkov:skip=CKV_GCP_80:Google-managed encryption; a customer-managed key is an organisation choice this project does not impose.
  dataset_id          = google_bigquery_dataset.layer["streaming"].dataset_id
  table_id            = "app_events_hourly"
  deletion_protection = true
  time_partitioning {
    type  = "DAY"
    field = "window_start"
  }
  clustering = ["country", "platform", "event_type"]
  schema = jsonencode([
    { name = "window_start", type = "TIMESTAMP", mode = "REQUIRED" },
    { name = "country", type = "STRING", mode = "REQUIRED" },
    { name = "platform", type = "STRING", mode = "REQUIRED" },
    { name = "event_type", type = "STRING", mode = "REQUIRED" },
    { name = "event_count", type = "INT64", mode = "REQUIRED" },
    { name = "revenue_usd", type = "FLOAT64", mode = "REQUIRED" },
    { name = "updated_at", type = "TIMESTAMP", mode = "REQUIRED" },
  ])
}
