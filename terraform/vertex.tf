# Vertex AI: the pipelines' identity and the forecasting endpoint.
resource "google_service_account" "vertex" {
  account_id   = "rillflow-vertex"
  display_name = "Rillflow Vertex AI pipelines and serving"
  depends_on   = [google_project_service.apis["iam"]]
}

resource "google_project_iam_member" "vertex" {
  for_each = toset([
    "roles/aiplatform.user",   # custom jobs, models and the registry: no resource-level IAM for pipeline tasks
    "roles/bigquery.jobUser",  # query/load jobs are created in the project
    "roles/logging.logWriter", # task logs: Cloud Logging write exists only on the project
  ])
  project    = var.project_id
  role       = each.value
  member     = google_service_account.vertex.member
  depends_on = [google_project_service.apis["cloudresourcemanager"]]
}

# The pipeline tasks run as this account and start further tasks as it.
resource "google_service_account_iam_member" "vertex_acts_as_itself" {
  service_account_id = google_service_account.vertex.name
  role               = "roles/iam.serviceAccountUser"
  member             = google_service_account.vertex.member
}

resource "google_bigquery_dataset_access" "vertex_ml" {
  # an access entry, as every dataset grant (warehouse.tf says why)
  dataset_id    = google_bigquery_dataset.layer["ml"].dataset_id
  role          = "WRITER"
  user_by_email = google_service_account.vertex.email
}

resource "google_vertex_ai_endpoint" "forecast" {
  #checkov:skip=CKV2_GCP_33:A private endpoint needs a peered VPC network, which this deployment does not have; prediction requires IAM (aiplatform.endpoints.predict).
  #checkov:skip=CKV2_GCP_24:Google-managed encryption; a customer-managed key is an organisation choice this project does not impose.
  name         = var.forecast_endpoint_id
  display_name = "app-activity-forecast"
  location     = var.region
  region       = var.region
  description  = "Serves the PyTorch app-activity forecaster (Vertex custom-container contract)."
  depends_on   = [google_project_service.apis["aiplatform"]]
}

# Deploying a model onto the endpoint is not possible with the provider at 6.50: it has no resource
# for an uploaded (custom) model nor for a deployed model (google_vertex_ai_endpoint_with_model_garden_deployment
# deploys Model Garden / Hugging Face models only). The model is registered by the ML pipeline, so
# the deploy step (ml/serving/deploy.py, DeploySpec: the same field names) deploys it onto this
# endpoint with these settings, which terraform hands over as the forecast_deployment output.
locals {
  forecast_deployment = {
    endpoint          = google_vertex_ai_endpoint.forecast.id
    machine_type      = var.forecast_endpoint_machine_type
    accelerator_type  = var.forecast_endpoint_accelerator_type
    accelerator_count = var.forecast_endpoint_accelerator_count
    min_replica_count = var.forecast_endpoint_min_replicas
    max_replica_count = var.forecast_endpoint_max_replicas
    serving_image     = local.images["serving"]
  }
}

# The forecaster's CustomJob machine and the challenger's traffic share (ml/training/launcher.py,
# ml/serving/deploy.py). Everything the ML code reads from Settings' Vertex ML fields is handed to
# the daily pipeline as its `ml_settings` parameter (ml.pipelines.env.use_settings), from here.
variable "forecast_train_machine_type" {
  description = "Machine type of the forecaster's Vertex AI CustomJob."
  type        = string
  default     = "n1-standard-4"
}

variable "forecast_train_accelerator_type" {
  description = "Optional accelerator of the forecaster's CustomJob (e.g. NVIDIA_TESLA_T4); empty for CPU only."
  type        = string
  default     = ""
}

variable "forecast_train_accelerator_count" {
  description = "Accelerators of the CustomJob's machine when forecast_train_accelerator_type is set."
  type        = number
  default     = 0
  validation {
    condition     = (var.forecast_train_accelerator_type == "") == (var.forecast_train_accelerator_count == 0)
    error_message = "Set forecast_train_accelerator_count > 0 exactly when forecast_train_accelerator_type is set."
  }
}

variable "forecast_challenger_traffic" {
  description = "Percent of the forecasting endpoint's traffic a 'challenger' version takes (0: the champion takes all)."
  type        = number
  default     = 0
  validation {
    condition     = var.forecast_challenger_traffic >= 0 && var.forecast_challenger_traffic < 100
    error_message = "forecast_challenger_traffic must be within 0..99."
  }
}

locals {
  vertex_ml_settings = {
    forecast_endpoint                   = google_vertex_ai_endpoint.forecast.display_name
    forecast_endpoint_machine_type      = var.forecast_endpoint_machine_type
    forecast_endpoint_accelerator_type  = var.forecast_endpoint_accelerator_type
    forecast_endpoint_accelerator_count = var.forecast_endpoint_accelerator_count
    forecast_endpoint_min_replicas      = var.forecast_endpoint_min_replicas
    forecast_endpoint_max_replicas      = var.forecast_endpoint_max_replicas
    forecast_challenger_traffic         = var.forecast_challenger_traffic
    forecast_train_machine_type         = var.forecast_train_machine_type
    forecast_train_accelerator_type     = var.forecast_train_accelerator_type
    forecast_train_accelerator_count    = var.forecast_train_accelerator_count
    vertex_service_account              = google_service_account.vertex.email
  }
}

output "vertex_ml_settings" {
  description = "The daily pipeline's ml_settings parameter (JSON): the CustomJob machine and the endpoint's resources."
  value       = jsonencode(local.vertex_ml_settings)
}
