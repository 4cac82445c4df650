# The buckets and the functions' source archive.
locals {
  functions_source_zip = var.functions_source_zip != "" ? var.functions_source_zip : "${path.module}/../dist/functions-source.zip"
  # The archive's md5 names its object: a changed archive is a new object, which redeploys every
  # function; an unchanged one changes nothing.
  functions_source_md5 = fileexists(local.functions_source_zip) ? filemd5(local.functions_source_zip) : "missing"

  # IAM Condition on objects under a prefix of a bucket, plus listing that prefix (a list request is
  # checked against the bucket, with the listed prefix as an attribute).
  lake_object_prefix = "projects/_/buckets/${local.lake_bucket}/objects/"
}

resource "google_storage_bucket" "lake" {
  #checkov:skip=CKV_GCP_62:Access is recorded by Cloud Audit Logs (Data Access logs), not by legacy usage-log buckets.
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
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action { type = "Delete" }
  }
  depends_on = [google_project_service.apis["storage"]]
}

resource "google_storage_bucket" "functions_source" {
  #checkov:skip=CKV_GCP_62:Access is recorded by Cloud Audit Logs (Data Access logs), not by legacy usage-log buckets.
  name                        = "${var.project_id}-rillflow-functions-src"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  versioning { enabled = true }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
      with_state                 = "ARCHIVED"
    }
    action { type = "Delete" }
  }
  depends_on = [google_project_service.apis["storage"]]
}

# Deploy and ML artifacts, one bucket. Its name is the one the code derives (rillflow/settings.py
# Settings.ml_bucket: RILLFLOW_ML_ARTIFACTS_BUCKET, default <project>-ml-artifacts), and its layout
# the one `rillflow deploy` writes (rillflow/deploy/plan.py):
#   streaming/app-events.json  the Dataflow Flex Template spec
#   templates/                 the compiled Vertex pipelines
#   pipelines/                 the Vertex pipeline root (runs)
#   models/                    model artifacts (ml/registry)
#   dataflow/                  Dataflow staging and temp files
resource "google_storage_bucket" "artifacts" {
  #checkov:skip=CKV_GCP_62:Access is recorded by Cloud Audit Logs (Data Access logs), not by legacy usage-log buckets.
  name                        = "${var.project_id}-ml-artifacts"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  versioning { enabled = true }

  lifecycle_rule {
    condition {
      matches_prefix = ["dataflow/temp/"]
      age            = 7
    }
    action { type = "Delete" }
  }
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action { type = "Delete" }
  }
  depends_on = [google_project_service.apis["storage"]]
}

locals {
  artifacts = {
    flex_template      = "gs://${google_storage_bucket.artifacts.name}/streaming/app-events.json"
    pipeline_templates = "gs://${google_storage_bucket.artifacts.name}/templates"
    pipeline_root      = "gs://${google_storage_bucket.artifacts.name}/pipelines"
    dataflow_staging   = "gs://${google_storage_bucket.artifacts.name}/dataflow/staging"
    dataflow_temp      = "gs://${google_storage_bucket.artifacts.name}/dataflow/temp"
  }
  # Every grant on the artifacts bucket, each conditioned on its prefixes like the lake's.
  artifacts_grants = {
    "dataflow|roles/storage.objectUser" = {
      member   = google_service_account.dataflow.member
      role     = "roles/storage.objectUser"
      prefixes = ["dataflow/"]
    }
    # the Flex Template launcher VM runs as the worker identity and reads the spec
    "dataflow|roles/storage.objectViewer" = {
      member   = google_service_account.dataflow.member
      role     = "roles/storage.objectViewer"
      prefixes = ["streaming/"]
    }
    "launcher|roles/storage.objectViewer" = {
      member   = google_service_account.streaming_launcher.member
      role     = "roles/storage.objectViewer"
      prefixes = ["streaming/"]
    }
    "workflows|roles/storage.objectViewer" = {
      member   = google_service_account.workflows.member
      role     = "roles/storage.objectViewer"
      prefixes = ["templates/"]
    }
    # pipeline runs write the pipeline root and register models
    "vertex|roles/storage.objectUser" = {
      member   = google_service_account.vertex.member
      role     = "roles/storage.objectUser"
      prefixes = ["pipelines/", "models/"]
    }
    "vertex|roles/storage.objectViewer" = {
      member   = google_service_account.vertex.member
      role     = "roles/storage.objectViewer"
      prefixes = ["templates/"]
    }
    # Vertex AI's service agent loads the deployed model's artifacts
    "vertex-agent|roles/storage.objectViewer" = {
      member   = google_project_service_identity.aiplatform.member
      role     = "roles/storage.objectViewer"
      prefixes = ["models/"]
    }
  }
}

resource "google_storage_bucket_iam_member" "artifacts" {
  for_each = local.artifacts_grants
  bucket   = google_storage_bucket.artifacts.name
  role     = each.value.role
  member   = each.value.member
  condition {
    title       = "artifacts-prefixes"
    description = "Objects under, and listings of: ${join(", ", each.value.prefixes)}"
    expression = join(" || ", concat(
      [for p in each.value.prefixes : "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.artifacts.name}/objects/${p}\")"],
      [for p in each.value.prefixes : "(resource.type == \"storage.googleapis.com/Bucket\" && api.getAttribute(\"storage.googleapis.com/objectListPrefix\", \"\").startsWith(\"${p}\"))"],
    ))
  }
}

# The archive `make package` builds (dist/functions-source.zip: main.py and requirements.txt at
# its root, the shared packages inside). Terraform does not build it.
resource "google_storage_bucket_object" "functions_source" {
  name   = "functions-${local.functions_source_md5}.zip"
  bucket = google_storage_bucket.functions_source.name
  source = local.functions_source_zip

  lifecycle {
    # the functions move to the new object before the old one goes
    create_before_destroy = true
    precondition {
      condition     = fileexists(local.functions_source_zip)
      error_message = "The functions source archive is missing: run `make package` (it writes dist/functions-source.zip), or set functions_source_zip."
    }
  }
}

# --- who may touch the lake, and where ------------------------------------------------------------------
# Every grant on the lake bucket is here and carries an IAM Condition: the identity reaches only the
# objects under its prefixes (and may list only those prefixes).
locals {
  # the grants of identities other than the functions (whose grants are function_access[*].lake)
  lake_service_grants = {
    # the streaming job writes event files and dead letters
    "dataflow|roles/storage.objectUser" = {
      member   = google_service_account.dataflow.member
      role     = "roles/storage.objectUser"
      prefixes = ["lake/app_events/", "deadletter/app_events/"]
    }
    # BigQuery reads the external tables (bronze/*, lake/app_events) through the BigLake connection
    "biglake|roles/storage.objectViewer" = {
      member   = "serviceAccount:${google_bigquery_connection.lake.cloud_resource[0].service_account_id}"
      role     = "roles/storage.objectViewer"
      prefixes = ["bronze/", "lake/app_events/"]
    }
  }
  lake_grants = merge(
    merge([
      for fn, access in local.function_access : {
        for role, prefixes in access.lake : "fn-${fn}|${role}" => {
          member   = google_service_account.function[fn].member
          role     = role
          prefixes = prefixes
        }
      }
    ]...),
    local.lake_service_grants,
  )
}

resource "google_storage_bucket_iam_member" "lake" {
  for_each = local.lake_grants
  bucket   = google_storage_bucket.lake.name
  role     = each.value.role
  member   = each.value.member
  condition {
    title       = "lake-prefixes"
    description = "Objects under, and listings of: ${join(", ", each.value.prefixes)}"
    expression = join(" || ", concat(
      [for p in each.value.prefixes : "resource.name.startsWith(\"${local.lake_object_prefix}${p}\")"],
      [for p in each.value.prefixes : "(resource.type == \"storage.googleapis.com/Bucket\" && api.getAttribute(\"storage.googleapis.com/objectListPrefix\", \"\").startsWith(\"${p}\"))"],
    ))
  }
}
