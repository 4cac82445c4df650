# BigQuery datasets (the medallion layers) and the Dataform repository that builds them.
locals {
  # exactly the datasets the Dataform project writes (dataform/workflow_settings.yaml and each
  # model's schema) plus the streaming pipeline's
  datasets = ["bronze", "staging", "intermediate", "marts", "ml", "bi", "dataform_assertions", "streaming"]
}

resource "google_bigquery_dataset" "layer" {
  for_each                   = toset(local.datasets)
  dataset_id                 = each.value
  location                   = var.region
  delete_contents_on_destroy = false
  depends_on                 = [google_project_service.apis]
}

# BigLake connection so the bronze external tables read the lake with the connection's identity.
resource "google_bigquery_connection" "lake" {
  connection_id = "rillflow-lake"
  location      = var.region
  cloud_resource {}
}

resource "google_storage_bucket_iam_member" "biglake_reader" {
  bucket = google_storage_bucket.lake.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_bigquery_connection.lake.cloud_resource[0].service_account_id}"
}

resource "google_service_account" "dataform" {
  account_id   = "rillflow-dataform"
  display_name = "Rillflow Dataform executions"
}

resource "google_bigquery_dataset_iam_member" "dataform_editor" {
  for_each   = toset([for d in local.datasets : d if d != "streaming"])
  dataset_id = google_bigquery_dataset.layer[each.value].dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.dataform.email}"
}

resource "google_bigquery_dataset_iam_member" "dataform_reads_streaming" {
  dataset_id = google_bigquery_dataset.layer["streaming"].dataset_id
  role       = "roles/bigquery.dataViewer"
  member     = "serviceAccount:${google_service_account.dataform.email}"
}

resource "google_project_iam_member" "dataform_jobs" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.dataform.email}"
}

resource "google_bigquery_connection_iam_member" "dataform_uses_lake_connection" {
  connection_id = google_bigquery_connection.lake.connection_id
  location      = var.region
  role          = "roles/bigquery.connectionUser"
  member        = "serviceAccount:${google_service_account.dataform.email}"
}

resource "google_dataform_repository" "rillflow" {
  provider        = google
  name            = "rillflow"
  region          = var.region
  service_account = google_service_account.dataform.email

  git_remote_settings {
    url                                 = var.dataform_git_url
    default_branch                      = "main"
    authentication_token_secret_version = var.dataform_git_token_secret_version
  }

  workspace_compilation_overrides {
    default_database = var.project_id
  }
}

resource "google_dataform_repository_release_config" "main" {
  provider      = google
  project       = var.project_id
  region        = var.region
  repository    = google_dataform_repository.rillflow.name
  name          = "main"
  git_commitish = "main"
  cron_schedule = "0 0 * * *"
  time_zone     = "Etc/UTC"

  code_compilation_config {
    default_database = var.project_id
    default_location = var.region
    vars = {
      lake_bucket = local.lake_bucket
    }
  }
}

# A scheduled safety net; the daily workflow invokes the same release with tag `daily` after each load.
resource "google_dataform_repository_workflow_config" "weekly" {
  provider       = google
  project        = var.project_id
  region         = var.region
  repository     = google_dataform_repository.rillflow.name
  name           = "weekly"
  release_config = google_dataform_repository_release_config.main.id
  cron_schedule  = "0 3 * * 5"
  time_zone      = "Etc/UTC"

  invocation_config {
    included_tags                            = ["weekly"]
    transitive_dependencies_included         = true
    service_account                          = google_service_account.dataform.email
  }
}

# The Dataform service agent acts as the repository's service account.
resource "google_service_account_iam_member" "dataform_agent_token_creator" {
  service_account_id = google_service_account.dataform.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-dataform.iam.gserviceaccount.com"
}
