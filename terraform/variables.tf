# --- required ---------------------------------------------------------------------------------------

variable "project_id" {
  description = "The Google Cloud project Rillflow deploys into."
  type        = string
}

variable "dataform_git_url" {
  description = "HTTPS URL of the git repository holding this project (Dataform reads dataform/ from it)."
  type        = string
}

variable "dataform_git_token_secret_version" {
  description = "Secret Manager secret version (projects/P/secrets/S/versions/N) holding the git token Dataform uses; created outside terraform, so no token lives in the repository or the state."
  type        = string
  validation {
    condition     = can(regex("^projects/[^/]+/secrets/[^/]+/versions/[^/]+$", var.dataform_git_token_secret_version))
    error_message = "dataform_git_token_secret_version must look like projects/PROJECT/secrets/SECRET/versions/VERSION."
  }
}

variable "startups_api_url" {
  description = "Base URL of the external startups API."
  type        = string
}

variable "startups_api_key" {
  description = "The startups API key. Terraform writes it as a version of the startups-api-key secret through a write-only argument: it is never stored in the state or a plan file. Give it on every plan/apply (TF_VAR_startups_api_key); bump startups_api_key_version to store a new value."
  type        = string
  sensitive   = true
  ephemeral   = true
  nullable    = false
}

# --- optional ---------------------------------------------------------------------------------------

variable "region" {
  description = "The one location of everything regional: functions, Eventarc, Firestore, buckets, Workflows, Scheduler, Dataflow, Vertex AI, Artifact Registry, and BigQuery (datasets, the BigLake connection, Dataform's compile location)."
  type        = string
  default     = "europe-west1"
  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]+$", var.region))
    error_message = "region must be a single region such as europe-west1 (Cloud Functions, Workflows and Dataflow have no multi-region)."
  }
}

variable "lake_bucket_name" {
  description = "Name of the lake bucket (bronze, lake, quarantine, deadletter prefixes). Empty: <project>-rillflow-lake."
  type        = string
  default     = ""
}

variable "functions_source_zip" {
  description = "Path of the functions source archive built by `make package` (main.py and requirements.txt at its root). Empty: ../dist/functions-source.zip beside this folder. (A variable default cannot name path.module, hence the empty default.)"
  type        = string
  default     = ""
}

variable "http_functions_ingress" {
  description = "Ingress of the HTTP (scheduled / workflow-called) functions. Cloud Scheduler and Workflows in the same project count as internal traffic, so ALLOW_INTERNAL_ONLY is enough for the pipeline; ALLOW_ALL lets an operator call them from outside (IAM still applies). Event-only functions are always internal-only."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"
  validation {
    condition     = contains(["ALLOW_INTERNAL_ONLY", "ALLOW_ALL"], var.http_functions_ingress)
    error_message = "http_functions_ingress is ALLOW_INTERNAL_ONLY or ALLOW_ALL."
  }
}

variable "startups_api_key_version" {
  description = "Generation of the startups API key written by terraform: bump it (with a new TF_VAR_startups_api_key) to add a new secret version."
  type        = number
  default     = 1
}

variable "app_events_per_day" {
  description = "Volume of the simulated app-store event stream."
  type        = number
  default     = 1000000
}

variable "image_tag" {
  description = "Tag of the images `rillflow deploy` pushes to the rillflow Artifact Registry repository (streaming, pipeline-step, serving), e.g. the git commit."
  type        = string
  default     = "latest"
}

variable "forecast_endpoint_id" {
  description = "Numeric id of the forecasting Vertex AI endpoint (the provider requires digits only, at most 10, no leading zero); its display name is app-activity-forecast."
  type        = string
  default     = "4242"
  validation {
    condition     = can(regex("^[1-9][0-9]{0,9}$", var.forecast_endpoint_id))
    error_message = "forecast_endpoint_id must be numeric, without a leading zero, at most 10 digits."
  }
}

variable "forecast_endpoint_machine_type" {
  description = "Machine type of the forecasting endpoint's deployed model."
  type        = string
  default     = "n1-standard-2"
}

variable "forecast_endpoint_accelerator_type" {
  description = "Optional accelerator of the forecasting endpoint (e.g. NVIDIA_TESLA_T4); empty for CPU only."
  type        = string
  default     = ""
}

variable "forecast_endpoint_accelerator_count" {
  description = "Accelerators per replica when forecast_endpoint_accelerator_type is set."
  type        = number
  default     = 0
  validation {
    condition     = (var.forecast_endpoint_accelerator_type == "") == (var.forecast_endpoint_accelerator_count == 0)
    error_message = "Set forecast_endpoint_accelerator_count > 0 exactly when forecast_endpoint_accelerator_type is set."
  }
}

variable "forecast_endpoint_min_replicas" {
  description = "Minimum replicas of the forecasting endpoint's deployed model (autoscaling floor)."
  type        = number
  default     = 1
  validation {
    condition     = var.forecast_endpoint_min_replicas >= 1
    error_message = "forecast_endpoint_min_replicas must be at least 1 (Vertex AI does not scale a dedicated deployment to zero)."
  }
}

variable "forecast_endpoint_max_replicas" {
  description = "Maximum replicas of the forecasting endpoint's deployed model (autoscaling ceiling)."
  type        = number
  default     = 2
  validation {
    condition     = var.forecast_endpoint_max_replicas >= var.forecast_endpoint_min_replicas
    error_message = "forecast_endpoint_max_replicas must be >= forecast_endpoint_min_replicas."
  }
}
