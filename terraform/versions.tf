# Both providers are pinned to the 6.50 line: `make lint` checks every resource, data source,
# attribute and block in this folder against the 6.50.0 schemas (the npm packages
# @cdktf/provider-google and @cdktf/provider-google-beta 16.12.1, see README.md).
# Terraform 1.11 is the first with write-only arguments (secret_data_wo, see functions.tf).
terraform {
  required_version = ">= 1.11"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.50"
    }
    # Dataform release/workflow configs and google_project_service_identity exist only in
    # google-beta at 6.50; resources that need it say `provider = google-beta`.
    google-beta = {
      source  = "hashicorp/google-beta"
      version = "~> 6.50"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

provider "google-beta" {
  project = var.project_id
  region  = var.region
}
