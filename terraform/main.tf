locals {
  lake_bucket = var.lake_bucket_name != "" ? var.lake_bucket_name : "${var.project_id}-rillflow-lake"

  # The one declaration of triggers and schedules, shared with the local event router and scheduler.
  declaration = yamldecode(file("${path.module}/../functions/triggers.yaml"))

  services = [
    "cloudfunctions.googleapis.com", "run.googleapis.com", "eventarc.googleapis.com",
    "cloudbuild.googleapis.com", "artifactregistry.googleapis.com", "cloudscheduler.googleapis.com",
    "workflows.googleapis.com", "workflowexecutions.googleapis.com", "firestore.googleapis.com",
    "pubsub.googleapis.com", "storage.googleapis.com", "bigquery.googleapis.com",
    "bigqueryconnection.googleapis.com", "dataform.googleapis.com", "dataflow.googleapis.com",
    "aiplatform.googleapis.com", "secretmanager.googleapis.com", "iam.googleapis.com",
  ]
}

resource "google_project_service" "apis" {
  for_each           = toset(local.services)
  service            = each.value
  disable_on_destroy = false
}

data "google_project" "this" {}
