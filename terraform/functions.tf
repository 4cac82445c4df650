# One Cloud Functions (gen2) source, one function per entry point, one service account each.
# Triggers and schedules come from functions/triggers.yaml (the local router reads the same file).

locals {
  # Narrowest roles per function. Bucket-scoped roles apply to the lake bucket only.
  function_access = {
    generate_sales = {
      project_roles = ["roles/datastore.user"]
      bucket_roles  = []
      memory        = "512Mi"
    }
    on_sale_written = {
      project_roles = ["roles/datastore.user"]
      bucket_roles  = []
      memory        = "256Mi"
    }
    generate_clickstream = {
      project_roles = []
      bucket_roles  = ["roles/storage.objectCreator", "roles/storage.objectViewer"]
      memory        = "512Mi"
    }
    ingest_startups = {
      project_roles = ["roles/datastore.user"]
      bucket_roles  = ["roles/storage.objectCreator", "roles/storage.objectViewer"]
      memory        = "512Mi"
    }
    export_sales = {
      project_roles = ["roles/datastore.viewer"]
      bucket_roles  = ["roles/storage.objectUser"]
      memory        = "1Gi"
    }
    compact_app_events = {
      project_roles = []
      # list, read, create and delete objects in the lake bucket; nothing else
      bucket_roles = ["roles/storage.objectUser"]
      memory       = "2Gi"
    }
    on_bronze_object_finalized = {
      project_roles = ["roles/datastore.user", "roles/workflows.invoker"]
      bucket_roles  = ["roles/storage.objectViewer", "roles/storage.objectCreator"]
      memory        = "1Gi"
    }
    publish_app_events = {
      project_roles = []
      bucket_roles  = []
      memory        = "1Gi"
    }
    on_pipeline_alert = {
      project_roles = ["roles/datastore.user"]
      bucket_roles  = []
      memory        = "256Mi"
    }
  }

  event_triggers = { for t in local.declaration.event_triggers : t.function => t }
  http_functions = toset(local.declaration.http_functions)
  all_functions  = setunion(keys(local.event_triggers), local.http_functions)

  function_env = {
    GOOGLE_CLOUD_PROJECT      = var.project_id
    RILLFLOW_ENV              = "cloud"
    RILLFLOW_REGION           = var.region
    RILLFLOW_LAKE_BUCKET      = local.lake_bucket
    RILLFLOW_STARTUPS_API_URL = var.startups_api_url
  }
}

resource "google_service_account" "function" {
  for_each     = local.all_functions
  account_id   = substr("fn-${replace(each.key, "_", "-")}", 0, 30)
  display_name = "Rillflow function ${each.key}"
}

resource "google_project_iam_member" "function" {
  for_each = merge([
    for fn, access in local.function_access : { for role in access.project_roles : "${fn}|${role}" => { fn = fn, role = role } }
  ]...)
  project = var.project_id
  role    = each.value.role
  member  = "serviceAccount:${google_service_account.function[each.value.fn].email}"
}

resource "google_storage_bucket_iam_member" "function" {
  for_each = merge([
    for fn, access in local.function_access : { for role in access.bucket_roles : "${fn}|${role}" => { fn = fn, role = role } }
  ]...)
  bucket = google_storage_bucket.lake.name
  role   = each.value.role
  member = "serviceAccount:${google_service_account.function[each.value.fn].email}"
}

resource "google_pubsub_topic_iam_member" "publish_app_events" {
  topic  = google_pubsub_topic.app_events.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${google_service_account.function["publish_app_events"].email}"
}

resource "google_secret_manager_secret" "startups_api_key" {
  secret_id = "startups-api-key"
  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_iam_member" "ingest_startups" {
  secret_id = google_secret_manager_secret.startups_api_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function["ingest_startups"].email}"
}

# Eventarc trigger identities: one per trigger, allowed only to receive events and invoke its function.
resource "google_service_account" "trigger" {
  for_each     = local.event_triggers
  account_id   = substr("tr-${replace(each.key, "_", "-")}", 0, 30)
  display_name = "Rillflow Eventarc trigger ${each.value.name}"
}

resource "google_project_iam_member" "trigger_receiver" {
  for_each = local.event_triggers
  project  = var.project_id
  role     = "roles/eventarc.eventReceiver"
  member   = "serviceAccount:${google_service_account.trigger[each.key].email}"
}

# GCS publishes its events through Pub/Sub: the storage service agent needs to publish.
resource "google_project_iam_member" "gcs_pubsub_publisher" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:service-${data.google_project.this.number}@gs-project-accounts.iam.gserviceaccount.com"
}

resource "google_cloudfunctions2_function" "fn" {
  for_each = local.all_functions
  name     = replace(each.key, "_", "-")
  location = var.region

  build_config {
    runtime     = "python311"
    entry_point = each.key
    source {
      storage_source {
        bucket = google_storage_bucket.functions_source.name
        object = google_storage_bucket_object.functions_source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.function[each.key].email
    available_memory                 = local.function_access[each.key].memory
    timeout_seconds                  = 540
    max_instance_count               = each.key == "publish_app_events" ? 20 : 10
    # Scheduler and Eventarc reach the service from outside the VPC; IAM (run.invoker) is the gate.
    ingress_settings                 = "ALLOW_ALL"
    all_traffic_on_latest_revision   = true
    environment_variables            = local.function_env
    dynamic "secret_environment_variables" {
      for_each = each.key == "ingest_startups" ? [1] : []
      content {
        key        = "STARTUPS_API_KEY"
        project_id = var.project_id
        secret     = google_secret_manager_secret.startups_api_key.secret_id
        version    = "latest"
      }
    }
  }

  dynamic "event_trigger" {
    for_each = contains(keys(local.event_triggers), each.key) ? [local.event_triggers[each.key]] : []
    content {
      trigger_region        = var.region
      event_type            = event_trigger.value.event_type
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.trigger[each.key].email
      # Pub/Sub triggers name their topic; Eventarc creates the push subscription
      pubsub_topic = lookup(event_trigger.value, "topic", null) == null ? null : "projects/${var.project_id}/topics/${event_trigger.value.topic}"

      dynamic "event_filters" {
        for_each = lookup(event_trigger.value, "filters", {})
        content {
          attribute = event_filters.key
          value     = replace(event_filters.value, "$${lake_bucket}", local.lake_bucket)
        }
      }
      dynamic "event_filters" {
        for_each = lookup(event_trigger.value, "path_patterns", {})
        content {
          attribute = event_filters.key
          value     = event_filters.value
          operator  = "match-path-pattern"
        }
      }
    }
  }

  depends_on = [google_project_service.apis, google_project_iam_member.gcs_pubsub_publisher]
}

resource "google_cloud_run_service_iam_member" "trigger_invoker" {
  for_each = local.event_triggers
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.trigger[each.key].email}"
}
