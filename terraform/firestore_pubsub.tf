# Firestore (the sales source of truth and pipeline_runs) and the Pub/Sub topics.
resource "google_firestore_database" "default" {
  name        = "(default)"
  location_id = var.region
  type        = "FIRESTORE_NATIVE"
  depends_on  = [google_project_service.apis["firestore"]]
}

locals {
  # The topics by the name functions/triggers.yaml uses: a Pub/Sub trigger names its topic there and
  # terraform resolves it to the resource (an unknown name fails the plan).
  topics = {
    (google_pubsub_topic.app_events.name)            = google_pubsub_topic.app_events
    (google_pubsub_topic.app_events_deadletter.name) = google_pubsub_topic.app_events_deadletter
    (google_pubsub_topic.alerts.name)                = google_pubsub_topic.alerts
  }
  # Firestore permissions cannot be granted on a database resource: they are granted on the project
  # with an IAM Condition naming the one database.
  firestore_condition = {
    title      = "only-the-default-database"
    expression = "resource.name == \"projects/${var.project_id}/databases/${google_firestore_database.default.name}\""
  }
}

resource "google_pubsub_schema" "app_event_batch" {
  name       = "app-event-batch"
  type       = "AVRO"
  definition = file("${path.module}/../contracts/app_event_batch.resolved.avsc")
  depends_on = [google_project_service.apis["pubsub"]]
}

resource "google_pubsub_topic" "app_events" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; a customer-managed key is an organisation choice this project does not impose.
  name = "app-events"
  schema_settings {
    schema   = google_pubsub_schema.app_event_batch.id
    encoding = "BINARY"
  }
}

resource "google_pubsub_topic" "app_events_deadletter" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; a customer-managed key is an organisation choice this project does not impose.
  name       = "app-events-deadletter"
  depends_on = [google_project_service.apis["pubsub"]]
}

resource "google_pubsub_topic" "alerts" {
  #checkov:skip=CKV_GCP_83:Google-managed encryption; a customer-managed key is an organisation choice this project does not impose.
  name       = "alerts"
  depends_on = [google_project_service.apis["pubsub"]]
}

resource "google_pubsub_subscription" "app_events_beam" {
  name                 = "app-events-beam"
  topic                = google_pubsub_topic.app_events.id
  ack_deadline_seconds = 60
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.app_events_deadletter.id
    max_delivery_attempts = 10
  }
  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }
}

resource "google_pubsub_subscription" "app_events_deadletter_hold" {
  name                       = "app-events-deadletter-hold"
  topic                      = google_pubsub_topic.app_events_deadletter.id
  message_retention_duration = "604800s"
}

# Pub/Sub's service agent forwards undeliverable messages to the dead-letter topic and acks them
# on the source subscription.
resource "google_pubsub_topic_iam_member" "deadletter_forwarder" {
  topic  = google_pubsub_topic.app_events_deadletter.id
  role   = "roles/pubsub.publisher"
  member = google_project_service_identity.pubsub.member
}

resource "google_pubsub_subscription_iam_member" "deadletter_ack" {
  subscription = google_pubsub_subscription.app_events_beam.id
  role         = "roles/pubsub.subscriber"
  member       = google_project_service_identity.pubsub.member
}
