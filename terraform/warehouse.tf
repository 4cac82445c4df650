# BigQuery datasets (the medallion layers), the BigLake connection of the external tables, and the
# Dataform repository that builds them. Everything lives in var.region, and Dataform compiles with
# that location, this project and the real lake bucket (dataform/workflow_settings.yaml holds
# placeholders for local runs only).
locals {
  # exactly the datasets the Dataform project writes (dataform/workflow_settings.yaml and each
  # model's schema) plus the streaming pipeline's
  datasets = ["bronze", "staging", "intermediate", "marts", "ml", "bi", "dataform_assertions", "streaming"]

  # Connection reference for `CREATE EXTERNAL TABLE ... WITH CONNECTION` (project.location.id).
  lake_connection = "${var.project_id}.${var.region}.${google_bigquery_connection.lake.connection_id}"

  # What every cloud compilation overrides in dataform/workflow_settings.yaml: the Dataform
  # vars the SQLX reads that depend on the deployment (lake_bucket in includes/constants.js,
  # lake_connection for the external tables' WITH CONNECTION).
  dataform_vars = {
    lake_bucket     = local.lake_bucket
    lake_connection = local.lake_connection
  }
}

resource "google_bigquery_dataset" "layer" {
  #checkov:skip=CKV_GCP_81:Google-managed encryption; a customer-managed key is an organisation choice this project does not impose.
  for_each                   = toset(local.datasets)
  dataset_id                 = each.value
  location                   = var.region
  delete_contents_on_destroy = false
  depends_on                 = [google_project_service.apis["bigquery"]]
}

# BigLake connection: the bronze and lake external tables read the lake with the connection's
# identity (granted objectViewer on bronze/ and lake/app_events/ only, storage.tf), so neither
# Dataform nor a reader of the tables needs access to the bucket.
resource "google_bigquery_connection" "lake" {
  connection_id = "rillflow_lake"
  location      = var.region
  friendly_name = "Rillflow lake (BigLake)"
  cloud_resource {}
  depends_on = [google_project_service.apis["bigqueryconnection"]]
}

resource "google_service_account" "dataform" {
  account_id   = "rillflow-dataform"
  display_name = "Rillflow Dataform executions"
  depends_on   = [google_project_service.apis["iam"]]
}

# Dataset-level grants are access entries (google_bigquery_dataset_access), never
# google_bigquery_dataset_iam_member: the IAM resources rewrite a dataset's access list and drop
# its authorised datasets, which the `bi` views need (below). Access entries use the dataset roles
# READER/WRITER: the API swaps roles/bigquery.dataViewer/dataEditor for them, which would show as a
# change on every plan.
resource "google_bigquery_dataset_access" "dataform_writes" {
  for_each      = toset([for d in local.datasets : d if d != "streaming"])
  dataset_id    = google_bigquery_dataset.layer[each.value].dataset_id
  role          = "WRITER"
  user_by_email = google_service_account.dataform.email
}

resource "google_bigquery_dataset_access" "dataform_reads_streaming" {
  dataset_id    = google_bigquery_dataset.layer["streaming"].dataset_id
  role          = "READER"
  user_by_email = google_service_account.dataform.email
}

# The `bi` views read tables of marts, ml and streaming. Those datasets authorise the views of `bi`
# (an authorised dataset), so a reader of `bi` alone (the dashboards, Looker Studio's viewers)
# queries the views without any access to the tables underneath.
resource "google_bigquery_dataset_access" "bi_views" {
  for_each   = toset(["marts", "ml", "streaming"])
  dataset_id = google_bigquery_dataset.layer[each.value].dataset_id
  dataset {
    dataset {
      project_id = var.project_id
      dataset_id = google_bigquery_dataset.layer["bi"].dataset_id
    }
    target_types = ["VIEWS"]
  }
}

resource "google_project_iam_member" "dataform_jobs" {
  project = var.project_id
  # BigQuery query jobs are created in the project: jobUser has no dataset-level form.
  role       = "roles/bigquery.jobUser"
  member     = google_service_account.dataform.member
  depends_on = [google_project_service.apis["cloudresourcemanager"], google_project_service.apis["bigquery"]]
}

# Creating a table WITH CONNECTION needs bigquery.connections.delegate, which only connectionAdmin
# carries; it is granted on this one connection, not on the project.
resource "google_bigquery_connection_iam_member" "dataform_uses_lake_connection" {
  connection_id = google_bigquery_connection.lake.connection_id
  location      = google_bigquery_connection.lake.location
  role          = "roles/bigquery.connectionAdmin"
  member        = google_service_account.dataform.member
}

# --- Dataform (google-beta: at provider 6.50 the GA provider has no Dataform resources) ------------

# The Dataform service agent acts as the repository's service account and reads the git token.
resource "google_service_account_iam_member" "dataform_agent_token_creator" {
  service_account_id = google_service_account.dataform.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_project_service_identity.dataform.member
}

resource "google_secret_manager_secret_iam_member" "dataform_agent_reads_git_token" {
  secret_id  = regex("^(projects/[^/]+/secrets/[^/]+)/versions/[^/]+$", var.dataform_git_token_secret_version)[0]
  role       = "roles/secretmanager.secretAccessor"
  member     = google_project_service_identity.dataform.member
  depends_on = [google_project_service.apis["secretmanager"]]
}

resource "google_dataform_repository" "rillflow" {
  provider        = google-beta
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

  depends_on = [
    google_project_service.apis["dataform"],
    google_service_account_iam_member.dataform_agent_token_creator,
    google_secret_manager_secret_iam_member.dataform_agent_reads_git_token,
  ]
}

resource "google_dataform_repository_release_config" "main" {
  provider      = google-beta
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
    vars             = local.dataform_vars
  }
}

# A scheduled safety net; the daily workflow compiles and invokes with tag `daily` after each load
# (workflows/daily_pipeline.yaml passes the same project, location and vars).
resource "google_dataform_repository_workflow_config" "weekly" {
  provider       = google-beta
  project        = var.project_id
  region         = var.region
  repository     = google_dataform_repository.rillflow.name
  name           = "weekly"
  release_config = google_dataform_repository_release_config.main.id
  cron_schedule  = "0 3 * * 5"
  time_zone      = "Etc/UTC"

  invocation_config {
    included_tags                    = ["weekly"]
    transitive_dependencies_included = true
    service_account                  = google_service_account.dataform.email
  }
}
