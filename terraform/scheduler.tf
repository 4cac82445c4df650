# Cloud Scheduler jobs, from the same declaration the local virtual-clock scheduler reads.
locals {
  schedules = { for s in local.declaration.schedules : s.name => s }
}

resource "google_service_account" "scheduler" {
  account_id   = "rillflow-scheduler"
  display_name = "Rillflow Cloud Scheduler (invokes scheduled functions and the streaming launcher only)"
  depends_on   = [google_project_service.apis["iam"]]
}

resource "google_cloud_run_service_iam_member" "scheduler_invoker" {
  for_each = toset([for s in local.declaration.schedules : s.function])
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = google_service_account.scheduler.member
}

resource "google_cloud_scheduler_job" "job" {
  for_each  = local.schedules
  name      = each.key
  region    = var.region
  schedule  = each.value.cron
  time_zone = "Etc/UTC"

  retry_config {
    retry_count          = 3
    min_backoff_duration = "10s"
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.fn[each.value.function].service_config[0].uri
    headers     = { "Content-Type" = "application/json" }
    body = base64encode(jsonencode(
      each.value.function == "publish_app_events" ? { events_per_day = var.app_events_per_day } : {}
    ))
    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.fn[each.value.function].service_config[0].uri
    }
  }
  depends_on = [google_project_service.apis["cloudscheduler"]]
}
