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

resource "google_dataflow_flex_template_job" "app_events" {
  provider                = google
  name                    = "app-events-streaming"
  region                  = var.region
  container_spec_gcs_path = "gs://${google_storage_bucket.artifacts.name}/templates/app_events.json"
  service_account_email   = google_service_account.dataflow.email
  temp_location           = "gs://${google_storage_bucket.artifacts.name}/dataflow/tmp"
  staging_location        = "gs://${google_storage_bucket.artifacts.name}/dataflow/staging"
  enable_streaming_engine = true
  on_delete               = "drain"
  parameters = {
    input_subscription = google_pubsub_subscription.app_events_beam.id
    deadletter_topic   = google_pubsub_topic.app_events_deadletter.id
    lake_uri           = "gs://${google_storage_bucket.lake.name}"
    warehouse          = "bigquery"
    bq_dataset         = "${var.project_id}:${google_bigquery_dataset.layer["streaming"].dataset_id}"
  }
}
