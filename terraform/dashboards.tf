# The dashboard app (dashboards/, a Dash app on gunicorn) on Cloud Run over the BigQuery `bi` views,
# its own identity, and Looker Studio pre-ML and post-ML reports created through the Linking API.
# Variables: dashboards_variables.tf. Image: dist/images/dashboards (rillflow/deploy/package.py).

locals {
  # Looker Studio Linking API: a report created from a template whose data sources are replaced by
  # BigQuery views of this project's `bi` dataset. The template's data sources must carry the
  # aliases ds0, ds1, … in the order listed here (Looker Studio: Resource > Manage data sources).
  looker_studio_reports = {
    pre_ml = {
      name     = "Rillflow history (pre-ML)"
      template = var.looker_studio_pre_ml_template_report_id
      views    = ["bi_daily_revenue", "bi_funnel_daily", "bi_app_activity_hourly", "bi_startup_funding_by_sector"]
    }
    post_ml = {
      name     = "Rillflow predictions (post-ML)"
      template = var.looker_studio_post_ml_template_report_id
      views    = ["bi_churn_score_distribution", "bi_churn_top_at_risk", "bi_app_forecast_vs_actual", "bi_churn_model_comparison", "bi_forecast_model_comparison"]
    }
  }
  # Without a template id the report starts blank (Looker Studio's default), with the same sources.
  looker_studio_urls = {
    for key, report in local.looker_studio_reports : key => "https://lookerstudio.google.com/reporting/create?${join("&", concat(
      report.template != "" ? ["c.reportId=${urlencode(report.template)}"] : [],
      ["r.reportName=${urlencode(report.name)}"],
      flatten([
        for i, view in report.views : [
          "ds.ds${i}.connector=bigQuery",
          "ds.ds${i}.type=TABLE",
          "ds.ds${i}.projectId=${urlencode(var.project_id)}",
          "ds.ds${i}.datasetId=${google_bigquery_dataset.layer["bi"].dataset_id}",
          "ds.ds${i}.tableId=${view}",
          "ds.ds${i}.datasourceName=${urlencode("Rillflow bi.${view}")}",
        ]
      ]),
    ))}"
  }
}

resource "google_service_account" "dashboards" {
  account_id   = "rillflow-dashboards"
  display_name = "Rillflow dashboards (Cloud Run)"
  depends_on   = [google_project_service.apis["iam"]]
}

# Reads the bi views and nothing else: READER on `bi` only. The views read tables of marts, ml and
# streaming, which authorise the views of `bi` (warehouse.tf: google_bigquery_dataset_access.bi_views).
resource "google_bigquery_dataset_access" "dashboards_reads_bi" {
  dataset_id    = google_bigquery_dataset.layer["bi"].dataset_id
  role          = "READER"
  user_by_email = google_service_account.dashboards.email
}

resource "google_project_iam_member" "dashboards_jobs" {
  project = var.project_id
  # BigQuery query jobs are created in the project: jobUser has no dataset-level form.
  role       = "roles/bigquery.jobUser"
  member     = google_service_account.dashboards.member
  depends_on = [google_project_service.apis["cloudresourcemanager"], google_project_service.apis["bigquery"]]
}

resource "google_project_iam_member" "dashboards_read_sessions" {
  project = var.project_id
  # Query results larger than one page are read through the BigQuery Storage Read API
  # (BigQueryWarehouse read_api=True), whose read sessions are created in the project only.
  role       = "roles/bigquery.readSessionUser"
  member     = google_service_account.dashboards.member
  depends_on = [google_project_service.apis["cloudresourcemanager"], google_project_service.apis["bigquery"]]
}

resource "google_cloud_run_v2_service" "dashboards" {
  name     = "rillflow-dashboards"
  location = var.region
  # Reachable from the internet only with an identity token of an allowed invoker (below): no
  # public binding exists, so Cloud Run rejects unauthenticated requests.
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = false

  template {
    service_account = google_service_account.dashboards.email
    scaling {
      min_instance_count = 0
      max_instance_count = var.dashboards_max_instances
    }
    containers {
      image = local.images["dashboards"]
      ports {
        container_port = 8080
      }
      env {
        name  = "GOOGLE_CLOUD_PROJECT"
        value = var.project_id
      }
      env {
        name  = "RILLFLOW_ENV"
        value = "cloud"
      }
      env {
        name  = "RILLFLOW_REGION"
        value = var.region
      }
      resources {
        limits = {
          cpu    = "1"
          memory = var.dashboards_memory
        }
      }
      startup_probe {
        http_get {
          path = "/healthz"
        }
      }
      liveness_probe {
        http_get {
          path = "/healthz"
        }
      }
    }
  }

  depends_on = [
    google_project_service.apis["run"],
    google_bigquery_dataset_access.dashboards_reads_bi,
    google_project_iam_member.dashboards_jobs,
    google_project_iam_member.dashboards_read_sessions,
  ]
}

# Who may open the app: the members listed (users, groups), each with an identity token.
resource "google_cloud_run_v2_service_iam_member" "dashboards_invokers" {
  for_each = toset(var.dashboards_invokers)
  project  = var.project_id
  location = google_cloud_run_v2_service.dashboards.location
  name     = google_cloud_run_v2_service.dashboards.name
  role     = "roles/run.invoker"
  member   = each.value
}

output "dashboards_url" {
  description = "The dashboard app on Cloud Run (authenticated: `gcloud run services proxy rillflow-dashboards` or an identity token)."
  value       = google_cloud_run_v2_service.dashboards.uri
}

output "looker_studio_report_urls" {
  description = "Looker Studio Linking API URLs creating the pre-ML and post-ML reports over the bi views from the template reports."
  value       = local.looker_studio_urls
}
