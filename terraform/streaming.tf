# The Beam streaming job (Dataflow Flex Template) and its worker identity.
resource "google_service_account" "dataflow" {
  account_id   = "rillflow-dataflow"
  display_name = "Rillflow streaming pipeline workers"
}

resource "google_project_iam_member" "dataflow_worker" {
  project = var.project_id
  role    = "roles/dataflow.worker"
  member  = "serviceAccount:${google_service_account.dataflow.email}"
}

resource "google_pubsub_subscription_iam_member" "dataflow_reads" {
  subscription = google_pubsub_subscription.app_events_beam.id
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_service_account.dataflow.email}"
}

resource "google_pubsub_topic_iam_member" "dataflow_deadletters" {
  topic  = google_pubsub_topic.app_events_deadletter.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.dataflow.email}"
}

resource "google_storage_bucket_iam_member" "dataflow_lake" {
  bucket = google_storage_bucket.lake.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.dataflow.email}"
}

resource "google_storage_bucket_iam_member" "dataflow_staging" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.dataflow.email}"
}

resource "google_bigquery_dataset_iam_member" "dataflow_streaming" {
  dataset_id = google_bigquery_dataset.layer["streaming"].dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.dataflow.email}"
}

resource "google_project_iam_member" "dataflow_bq_jobs" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.dataflow.email}"
}

resource "google_artifact_registry_repository" "images" {
  location      = var.region
  repository_id = "rillflow"
  format        = "DOCKER"
}

# The job itself is launched (idempotently) by workflows/streaming_launcher.yaml, which Cloud
# Scheduler runs hourly: one definition of the job's parameters, shared with the local stack.
resource "google_workflows_workflow" "streaming_launcher" {
  name            = "streaming_launcher"
  region          = var.region
  service_account = google_service_account.workflows.id
  source_contents = file("${path.module}/../workflows/streaming_launcher.yaml")
  user_env_vars = {
    APP_EVENTS_SUBSCRIPTION     = google_pubsub_subscription.app_events_beam.name
    APP_EVENTS_DEADLETTER_TOPIC = google_pubsub_topic.app_events_deadletter.name
    LAKE_BUCKET                 = google_storage_bucket.lake.name
    STREAMING_WAREHOUSE         = "bigquery"
    STREAMING_DATASET           = google_bigquery_dataset.layer["streaming"].dataset_id
    STREAMING_TEMPLATE_PATH     = "gs://${google_storage_bucket.artifacts.name}/templates/app_events.json"
    DATAFLOW_SERVICE_ACCOUNT    = google_service_account.dataflow.email
  }
  depends_on = [google_project_service.apis]
}

resource "google_project_iam_member" "scheduler_runs_launcher" {
  project = var.project_id
  role    = "roles/workflows.invoker"
  member  = "serviceAccount:${google_service_account.scheduler.email}"
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
}

# The hourly aggregates the streaming job merges into (Storage Write API on Dataflow).
resource "google_bigquery_table" "app_events_hourly" {
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
