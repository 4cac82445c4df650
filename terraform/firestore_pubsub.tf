resource "google_firestore_database" "default" {
  name        = "(default)"
  location_id = var.region
  type        = "FIRESTORE_NATIVE"
  depends_on  = [google_project_service.apis]
}

resource "google_pubsub_schema" "app_event_batch" {
  name       = "app-event-batch"
  type       = "AVRO"
  definition = file("${path.module}/../contracts/app_event_batch.resolved.avsc")
}

resource "google_pubsub_topic" "app_events" {
  name = "app-events"
  schema_settings {
    schema   = google_pubsub_schema.app_event_batch.id
    encoding = "BINARY"
  }
}

resource "google_pubsub_topic" "app_events_deadletter" {
  name = "app-events-deadletter"
}

resource "google_pubsub_topic" "alerts" {
  name = "alerts"
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

# Pub/Sub must be able to forward undeliverable messages to the dead-letter topic.
resource "google_pubsub_topic_iam_member" "deadletter_forwarder" {
  topic  = google_pubsub_topic.app_events_deadletter.id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_pubsub_subscription_iam_member" "deadletter_ack" {
  subscription = google_pubsub_subscription.app_events_beam.id
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
