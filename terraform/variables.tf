variable "project_id" {
  description = "The Google Cloud project Rillflow deploys into."
  type        = string
}

variable "region" {
  description = "Region for functions, workflows, Dataform, Dataflow, Vertex AI and the buckets."
  type        = string
  default     = "europe-west1"
}

variable "lake_bucket_name" {
  description = "Name of the lake bucket (bronze, lake, quarantine, deadletter prefixes). Defaults to <project>-rillflow-lake."
  type        = string
  default     = ""
}

variable "dataform_git_url" {
  description = "HTTPS URL of the git repository holding this project (Dataform reads dataform/ from it)."
  type        = string
}

variable "dataform_git_token_secret_version" {
  description = "Secret Manager secret version holding the git token Dataform uses (created outside terraform; no secret in the repo)."
  type        = string
}

variable "startups_api_url" {
  description = "Base URL of the external startups API."
  type        = string
}

variable "app_events_per_day" {
  description = "Volume of the simulated app-store event stream."
  type        = number
  default     = 1000000
}

variable "forecast_endpoint_machine_type" {
  description = "Machine type of the forecasting endpoint."
  type        = string
  default     = "n1-standard-2"
}

variable "forecast_endpoint_accelerator" {
  description = "Optional accelerator for the forecasting endpoint (e.g. NVIDIA_TESLA_T4); empty for CPU."
  type        = string
  default     = ""
}
