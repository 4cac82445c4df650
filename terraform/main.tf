# Project-wide pieces: names, the APIs, and the Google-managed service agents.
locals {
  lake_bucket = var.lake_bucket_name != "" ? var.lake_bucket_name : "${var.project_id}-rillflow-lake"

  # The one declaration of triggers and schedules, shared with the local event router and scheduler.
  declaration = yamldecode(file("${path.module}/../functions/triggers.yaml"))

  # Every API Rillflow uses, by a short key. Each resource that needs an API depends on its
  # google_project_service (explicitly, or through a resource that does), so that a fresh project
  # gets its APIs enabled before the first call. serviceusage.googleapis.com itself must already
  # be on (it is on every new project) since terraform enables the others through it.
  services = {
    aiplatform           = "aiplatform.googleapis.com"
    artifactregistry     = "artifactregistry.googleapis.com"
    bigquery             = "bigquery.googleapis.com"
    bigqueryconnection   = "bigqueryconnection.googleapis.com"
    cloudbuild           = "cloudbuild.googleapis.com"
    cloudfunctions       = "cloudfunctions.googleapis.com"
    cloudresourcemanager = "cloudresourcemanager.googleapis.com"
    cloudscheduler       = "cloudscheduler.googleapis.com"
    compute              = "compute.googleapis.com"
    dataflow             = "dataflow.googleapis.com"
    dataform             = "dataform.googleapis.com"
    eventarc             = "eventarc.googleapis.com"
    firestore            = "firestore.googleapis.com"
    iam                  = "iam.googleapis.com"
    pubsub               = "pubsub.googleapis.com"
    run                  = "run.googleapis.com"
    secretmanager        = "secretmanager.googleapis.com"
    storage              = "storage.googleapis.com"
    workflowexecutions   = "workflowexecutions.googleapis.com"
    workflows            = "workflows.googleapis.com"
  }
}

resource "google_project_service" "apis" {
  for_each           = local.services
  service            = each.value
  disable_on_destroy = false
}

# --- service agents ----------------------------------------------------------------------------------
# Created explicitly (instead of spelling service-<number>@gcp-sa-*.iam.gserviceaccount.com) so that
# they exist before they are granted anything: a fresh project has none until first use.

resource "google_project_service_identity" "pubsub" {
  provider   = google-beta
  service    = local.services.pubsub
  depends_on = [google_project_service.apis["pubsub"]]
}

resource "google_project_service_identity" "dataform" {
  provider   = google-beta
  service    = local.services.dataform
  depends_on = [google_project_service.apis["dataform"]]
}

resource "google_project_service_identity" "aiplatform" {
  provider   = google-beta
  service    = local.services.aiplatform
  depends_on = [google_project_service.apis["aiplatform"]]
}

# Cloud Storage's agent is not made by google_project_service_identity; this data source creates it
# when missing and returns it.
data "google_storage_project_service_account" "gcs" {
  depends_on = [google_project_service.apis["storage"]]
}
