# Vertex AI: the pipelines' identity, the forecasting endpoint.
resource "google_service_account" "vertex" {
  account_id   = "rillflow-vertex"
  display_name = "Rillflow Vertex AI pipelines and serving"
}

resource "google_project_iam_member" "vertex" {
  for_each = toset(["roles/aiplatform.user", "roles/bigquery.jobUser", "roles/logging.logWriter"])
  project  = var.project_id
  role     = each.value
  member   = "serviceAccount:${google_service_account.vertex.email}"
}

resource "google_bigquery_dataset_iam_member" "vertex_ml" {
  dataset_id = google_bigquery_dataset.layer["ml"].dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.vertex.email}"
}

resource "google_storage_bucket_iam_member" "vertex_artifacts" {
  bucket = google_storage_bucket.artifacts.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.vertex.email}"
}

resource "google_vertex_ai_endpoint" "forecast" {
  name         = "app-activity-forecast"
  display_name = "app-activity-forecast"
  location     = var.region
  description  = "Serves the PyTorch app-activity forecaster (Vertex custom-container contract)."
  depends_on   = [google_project_service.apis]
}
