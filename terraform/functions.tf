# One Cloud Functions (gen2) source, one function per entry point, one service account each.
# Triggers and schedules come from functions/triggers.yaml (the local router reads the same file).

locals {
  # What each function may touch, and nothing else:
  #   firestore_roles: granted on the project with a condition naming the one database (Firestore has
  #                    no database-level IAM resource);
  #   project_roles:   role => why it must be project-wide (no resource-level binding exists);
  #   lake:            role => lake prefixes; each grant carries an IAM Condition on those prefixes
  #                    (storage.tf, google_storage_bucket_iam_member.lake).
  function_access = {
    generate_sales = {
      memory          = "512Mi"
      firestore_roles = ["roles/datastore.user"] # writes sales/ documents
      project_roles   = {}
      lake            = {}
    }
    on_sale_written = {
      memory          = "256Mi"
      firestore_roles = ["roles/datastore.user"] # validates the sale document in a transaction
      project_roles   = {}
      lake            = {}
    }
    generate_clickstream = {
      memory          = "512Mi"
      firestore_roles = []
      project_roles   = {}
      # creates the day's file (never overwrites) and reads it back on a conflict
      lake = {
        "roles/storage.objectCreator" = ["bronze/clickstream/"]
        "roles/storage.objectViewer"  = ["bronze/clickstream/"]
      }
    }
    ingest_startups = {
      memory          = "512Mi"
      firestore_roles = ["roles/datastore.user"] # the ingestion cursor
      project_roles   = {}
      # replaces a page file at a known generation (create + delete)
      lake = { "roles/storage.objectUser" = ["bronze/startups/"] }
    }
    export_sales = {
      memory          = "1Gi"
      firestore_roles = ["roles/datastore.user"] # reads sales/; files undated invalid orders
      project_roles   = {}
      lake            = { "roles/storage.objectUser" = ["bronze/sales/", "quarantine/sales_orders/"] }
    }
    compact_app_events = {
      memory          = "2Gi"
      firestore_roles = []
      project_roles   = {}
      # lists, reads, writes and deletes a day's streaming files
      lake = { "roles/storage.objectUser" = ["lake/app_events/"] }
    }
    on_bronze_object_finalized = {
      memory          = "1Gi"
      firestore_roles = ["roles/datastore.user"] # load manifest and day-completion claims
      project_roles = {
        "roles/workflows.invoker" = "Workflows has no per-workflow IAM policy: the invoker role exists only on the project."
      }
      # reads any bronze file; copies bad ones (and their reason) into quarantine/ and leaves only
      # their valid records in bronze (replaces the object at its generation, or deletes it)
      lake = { "roles/storage.objectUser" = ["bronze/", "quarantine/"] }
    }
    publish_app_events = {
      memory          = "1Gi"
      firestore_roles = []
      project_roles   = {} # publishes to app-events only (a topic binding below)
      lake            = {}
    }
    on_pipeline_alert = {
      memory          = "256Mi"
      firestore_roles = ["roles/datastore.user"] # records the alert once
      project_roles   = {}
      lake            = {}
    }
  }

  event_triggers = { for t in local.declaration.event_triggers : t.function => t }
  http_functions = toset(local.declaration.http_functions)
  all_functions  = setunion(keys(local.event_triggers), local.http_functions)

  # Eventarc filters name real resources: the declaration's `bucket` filter is the lake bucket and
  # its `database` filter the Firestore database (an attribute not listed here fails the plan).
  event_filter_values = {
    bucket   = google_storage_bucket.lake.name
    database = google_firestore_database.default.name
  }

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
  depends_on   = [google_project_service.apis["iam"]]
}

resource "google_project_iam_member" "function_firestore" {
  for_each = merge([
    for fn, access in local.function_access : { for role in access.firestore_roles : "${fn}|${role}" => { fn = fn, role = role } }
  ]...)
  project = var.project_id
  role    = each.value.role
  member  = google_service_account.function[each.value.fn].member
  condition {
    title      = local.firestore_condition.title
    expression = local.firestore_condition.expression
  }
  depends_on = [google_project_service.apis["cloudresourcemanager"]]
}

resource "google_project_iam_member" "function" {
  for_each = merge([
    for fn, access in local.function_access : { for role, why in access.project_roles : "${fn}|${role}" => { fn = fn, role = role } }
  ]...)
  project    = var.project_id
  role       = each.value.role
  member     = google_service_account.function[each.value.fn].member
  depends_on = [google_project_service.apis["cloudresourcemanager"]]
}

resource "google_pubsub_topic_iam_member" "publish_app_events" {
  topic  = google_pubsub_topic.app_events.id
  role   = "roles/pubsub.publisher"
  member = google_service_account.function["publish_app_events"].member
}

# --- the startups API key ----------------------------------------------------------------------------

resource "google_secret_manager_secret" "startups_api_key" {
  secret_id = "startups-api-key"
  replication {
    auto {}
  }
  depends_on = [google_project_service.apis["secretmanager"]]
}

# The function reads this exact version; the value is write-only (never in state or plan files).
resource "google_secret_manager_secret_version" "startups_api_key" {
  secret                 = google_secret_manager_secret.startups_api_key.id
  secret_data_wo         = var.startups_api_key
  secret_data_wo_version = var.startups_api_key_version
}

resource "google_secret_manager_secret_iam_member" "ingest_startups" {
  secret_id = google_secret_manager_secret.startups_api_key.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function["ingest_startups"].member
}

# --- the build identity ------------------------------------------------------------------------------
# Cloud Build builds each function's image as this account (not the project's default one, which
# new projects no longer grant anything): it reads the source archive, pushes to the rillflow
# repository and writes its logs.

resource "google_service_account" "build" {
  account_id   = "rillflow-functions-build"
  display_name = "Rillflow Cloud Functions builds"
  depends_on   = [google_project_service.apis["iam"]]
}

resource "google_project_iam_member" "build_logs" {
  project = var.project_id
  # Build logs go to Cloud Logging, whose write permission exists only on the project.
  role       = "roles/logging.logWriter"
  member     = google_service_account.build.member
  depends_on = [google_project_service.apis["cloudresourcemanager"]]
}

resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.functions_source.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.build.member
}

resource "google_artifact_registry_repository_iam_member" "build_pushes_images" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = google_service_account.build.member
}

# --- Eventarc ------------------------------------------------------------------------------------------

# Trigger identities: one per trigger, allowed only to receive events and invoke its function.
resource "google_service_account" "trigger" {
  for_each     = local.event_triggers
  account_id   = substr("tr-${replace(each.key, "_", "-")}", 0, 30)
  display_name = "Rillflow Eventarc trigger ${each.value.name}"
  depends_on   = [google_project_service.apis["iam"]]
}

resource "google_project_iam_member" "trigger_receiver" {
  for_each = local.event_triggers
  project  = var.project_id
  # Eventarc checks eventReceiver on the project: there is no per-trigger binding.
  role       = "roles/eventarc.eventReceiver"
  member     = google_service_account.trigger[each.key].member
  depends_on = [google_project_service.apis["cloudresourcemanager"], google_project_service.apis["eventarc"]]
}

resource "google_project_iam_member" "gcs_pubsub_publisher" {
  project = var.project_id
  # Cloud Storage delivers its events to Eventarc through Pub/Sub topics that Eventarc creates per
  # trigger (not declared here), so the storage service agent publishes on the project.
  role       = "roles/pubsub.publisher"
  member     = data.google_storage_project_service_account.gcs.member
  depends_on = [google_project_service.apis["cloudresourcemanager"], google_project_service.apis["pubsub"]]
}

# --- the functions -----------------------------------------------------------------------------------

resource "google_cloudfunctions2_function" "fn" {
  for_each = local.all_functions
  name     = replace(each.key, "_", "-")
  location = var.region

  build_config {
    runtime           = "python311"
    entry_point       = each.key
    service_account   = google_service_account.build.id
    docker_repository = google_artifact_registry_repository.images.id
    source {
      storage_source {
        bucket = google_storage_bucket.functions_source.name
        object = google_storage_bucket_object.functions_source.name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.function[each.key].email
    available_memory      = local.function_access[each.key].memory
    timeout_seconds       = 540
    max_instance_count    = each.key == "publish_app_events" ? 20 : 10
    # Event-only functions receive only Eventarc's deliveries: internal traffic. The HTTP ones are
    # called by Cloud Scheduler and Workflows of this project, which count as internal too.
    ingress_settings               = contains(keys(local.event_triggers), each.key) ? "ALLOW_INTERNAL_ONLY" : var.http_functions_ingress
    all_traffic_on_latest_revision = true
    environment_variables          = local.function_env
    dynamic "secret_environment_variables" {
      for_each = each.key == "ingest_startups" ? [1] : []
      content {
        key        = "STARTUPS_API_KEY"
        project_id = var.project_id
        secret     = google_secret_manager_secret.startups_api_key.secret_id
        version    = google_secret_manager_secret_version.startups_api_key.version
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
      pubsub_topic = lookup(event_trigger.value, "topic", null) == null ? null : local.topics[lookup(event_trigger.value, "topic", "")].id

      dynamic "event_filters" {
        for_each = lookup(event_trigger.value, "filters", {})
        content {
          attribute = event_filters.key
          value     = local.event_filter_values[event_filters.key]
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

  depends_on = [
    google_project_service.apis["cloudfunctions"],
    google_project_service.apis["run"],
    google_project_service.apis["cloudbuild"],
    google_project_service.apis["eventarc"],
    google_project_iam_member.build_logs,
    google_storage_bucket_iam_member.build_reads_source,
    google_artifact_registry_repository_iam_member.build_pushes_images,
    google_project_iam_member.gcs_pubsub_publisher,
    google_project_iam_member.trigger_receiver,
    google_secret_manager_secret_iam_member.ingest_startups,
  ]
}

resource "google_cloud_run_service_iam_member" "trigger_invoker" {
  for_each = local.event_triggers
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.trigger[each.key].member
}
