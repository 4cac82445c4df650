# The rillflow Artifact Registry repository: the images `rillflow deploy` builds (streaming,
# pipeline-step, serving) and the functions' build images (build_config.docker_repository).
resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption; a customer-managed key is an organisation choice this project does not impose.
  location      = var.region
  repository_id = "rillflow"
  format        = "DOCKER"
  description   = "Rillflow images: streaming, pipeline-step, serving, and the Cloud Functions builds."

  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s" # 30 days; the 10 newest versions of each image are kept above
    }
  }
  depends_on = [google_project_service.apis["artifactregistry"]]
}

locals {
  image_registry = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
  # streaming: the Dataflow Flex Template launcher and worker (sdk_container_image) image;
  # pipeline-step: every Vertex AI pipeline task; serving: the forecasting endpoint's container.
  # image => its name in the repository (rillflow/deploy/package.py IMAGES; ml.pipelines.images and
  # ml.registry.vertex name ml-pipeline and ml-serving)
  image_repositories = {
    streaming       = "streaming"
    "pipeline-step" = "ml-pipeline"
    serving         = "ml-serving"
    training        = "ml-training" # the forecaster's Vertex CustomJob (ml/training/Dockerfile)
    dashboards      = "dashboards"
  }
  images = { for name, repository in local.image_repositories : name => "${local.image_registry}/${repository}:${var.image_tag}" }
}

# Who pulls: Dataflow workers (the streaming image), Vertex AI pipeline tasks (pipeline-step) and
# Vertex AI's service agent (the serving container of the endpoint).
resource "google_artifact_registry_repository_iam_member" "readers" {
  for_each = {
    dataflow     = google_service_account.dataflow.member
    vertex       = google_service_account.vertex.member
    vertex_agent = google_project_service_identity.aiplatform.member
  }
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = each.value
}
