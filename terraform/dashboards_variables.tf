variable "dashboards_invokers" {
  description = "Who may open the dashboard app on Cloud Run (roles/run.invoker), e.g. [\"group:analysts@example.com\", \"user:me@example.com\"]; never a public member."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for m in var.dashboards_invokers : can(regex("^(user|group|serviceAccount|domain):", m))])
    error_message = "Each invoker is user:, group:, serviceAccount: or domain: (public members are refused)."
  }
}

variable "dashboards_max_instances" {
  description = "Most Cloud Run instances of the dashboard app."
  type        = number
  default     = 2
}

variable "dashboards_memory" {
  description = "Memory of one dashboard app instance."
  type        = string
  default     = "1Gi"
}

variable "looker_studio_pre_ml_template_report_id" {
  description = "Looker Studio report id of the pre-ML template (its data sources aliased ds0..ds3: daily revenue, funnel, app activity, startup funding)."
  type        = string
  default     = ""
}

variable "looker_studio_post_ml_template_report_id" {
  description = "Looker Studio report id of the post-ML template (its data sources aliased ds0..ds4: churn distribution, customers at risk, forecast vs actual, churn and forecast Vertex vs BigQuery ML)."
  type        = string
  default     = ""
}
