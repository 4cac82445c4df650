resource "google_storage_bucket" "lake" {
  name                        = local.lake_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  versioning { enabled = true }

  lifecycle_rule {
    condition {
      matches_prefix = ["tmp/"]
      age            = 1
    }
    action { type = "Delete" }
  }
}

resource "google_storage_bucket" "functions_source" {
  name                        = "${var.project_id}-rillflow-functions-src"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
}

resource "google_storage_bucket" "artifacts" {
  name                        = "${var.project_id}-rillflow-artifacts"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
}

data "archive_file" "functions" {
  type        = "zip"
  source_dir  = "${path.module}/.."
  output_path = "${path.module}/.build/functions.zip"
  excludes    = [".venv", "node_modules", ".rillflow", ".git", "terraform", "tests", "bench", "dataform", "ml", "dashboards"]
}

resource "google_storage_bucket_object" "functions_source" {
  name   = "functions-${data.archive_file.functions.output_md5}.zip"
  bucket = google_storage_bucket.functions_source.name
  source = data.archive_file.functions.output_path
}
