"""The deploy's commands, in order, for one project, region and image tag (builds them, runs none).

1. ``terraform init``, then a targeted ``terraform apply`` of what the next steps write into: the
   enabled APIs, the Artifact Registry repository and the artifacts bucket (:data:`BOOTSTRAP_TARGETS`).
   On a fresh project nothing else can run before them; on a deployed one it changes nothing.
2. ``gcloud builds submit`` of each image context (``dist/images/<name>``) to
   ``REGION-docker.pkg.dev/PROJECT/rillflow/<image>:TAG``, and ``:latest`` added to that image
   (``ml.registry.vertex`` uploads models with the ``ml-serving:latest`` container).
3. ``gcloud dataflow flex-template build`` of the streaming template
   (``gs://BUCKET/streaming/app-events.json``) on the streaming image.
4. ``gcloud storage cp`` of the compiled pipelines, their task image set to this deploy's
   ``ml-pipeline`` image, to ``gs://BUCKET/templates/``.
5. ``terraform apply`` of everything, with ``project_id``, ``region``, ``image_tag`` and
   ``functions_source_zip`` (the absolute path of ``dist/functions-source.zip``).

BUCKET is ``Settings.ml_bucket``, the ML artifacts bucket (``RILLFLOW_ML_ARTIFACTS_BUCKET``,
default ``<project>-ml-artifacts``); it holds the templates, the pipeline runs and the models.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from rillflow.deploy.package import FUNCTIONS_ZIP, IMAGES, STREAMING_METADATA, Manifest
from rillflow.deploy.runner import BadInput, DeployError, Step

#: the Artifact Registry repository (terraform: google_artifact_registry_repository.images)
REPOSITORY = "rillflow"
LATEST = "latest"
FLEX_TEMPLATE_OBJECT = "streaming/app-events.json"
PIPELINE_TEMPLATES_PREFIX = "templates/"
TERRAFORM_DIR = "terraform"
#: terraform resources the image builds and uploads need before they can run (see step 1)
BOOTSTRAP_TARGETS = (
    "google_project_service.apis",
    "google_artifact_registry_repository.images",
    "google_storage_bucket.artifacts",
)
#: the image the pipeline tasks run in (ml.pipelines.images.ML_IMAGE)
PIPELINE_IMAGE = next(i.repository for i in IMAGES if i.name == "pipeline-step")
STREAMING_IMAGE = next(i.repository for i in IMAGES if i.name == "streaming")

_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_TASK_IMAGE = re.compile(r"^(?P<lead>\s*image:\s*)(?P<image>\S+)\s*$", re.MULTILINE)


def check_project(project: str) -> str:
    if not _PROJECT_ID.match(project):
        raise BadInput(
            f"{project!r} is not a project ID (6-30 lowercase letters, digits and hyphens, "
            "starting with a letter; `gcloud projects list` shows yours)"
        )
    return project


def check_region(region: str) -> str:
    if not _REGION.match(region):
        raise BadInput(f"{region!r} is not a Google Cloud region (e.g. europe-west1)")
    return region


def check_image_tag(tag: str) -> str:
    if not _IMAGE_TAG.match(tag):
        raise BadInput(f"{tag!r} is not a Docker tag (letters, digits, '_', '.', '-'; at most 128)")
    return tag


def artifacts_bucket(project: str) -> str:
    """``Settings.ml_bucket`` (the ML artifacts bucket) of ``project``, whatever project the
    environment names."""
    from rillflow.settings import get_settings

    return replace(get_settings(), project=project).ml_bucket


@dataclass(frozen=True)
class Target:
    project: str
    region: str
    image_tag: str
    bucket: str

    @property
    def registry(self) -> str:
        return f"{self.region}-docker.pkg.dev/{self.project}/{REPOSITORY}"

    def image(self, repository: str, tag: str | None = None) -> str:
        return f"{self.registry}/{repository}:{tag or self.image_tag}"

    @property
    def flex_template(self) -> str:
        return f"gs://{self.bucket}/{FLEX_TEMPLATE_OBJECT}"

    @property
    def pipeline_templates(self) -> str:
        return f"gs://{self.bucket}/{PIPELINE_TEMPLATES_PREFIX}"


def render_pipeline(text: str, image: str) -> str:
    """A compiled pipeline with every task's image set to ``image`` (all tasks share one image)."""
    rendered, count = _TASK_IMAGE.subn(lambda m: f"{m['lead']}{image}", text)
    if count == 0:
        raise DeployError("a compiled pipeline names no task image: recompile with `rillflow ml compile`")
    return rendered


def render_pipelines(sources: Sequence[Path], out_dir: Path, image: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(sources):
        target = out_dir / source.name
        target.write_text(render_pipeline(source.read_text(), image))
        written.append(target)
    return written


def shown(path: Path, root: Path) -> str:
    """``path`` as the commands name it: relative to the repository root they run from, if inside."""
    path = path.resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def terraform_vars(target: Target, dist: Path) -> list[str]:
    values = {
        "project_id": target.project,
        "region": target.region,
        "image_tag": target.image_tag,
        "functions_source_zip": str((dist / FUNCTIONS_ZIP).resolve()),
    }
    return [arg for name, value in values.items() for arg in ("-var", f"{name}={value}")]


def steps(
    target: Target,
    manifest: Manifest,
    dist: Path,
    pipelines: Sequence[Path],
    root: Path,
    auto_approve: bool = False,
) -> list[Step]:
    """Every command of the deploy, in the order they must run (see the module docstring)."""
    approve = ["-auto-approve"] if auto_approve else []
    tf = ("terraform", f"-chdir={TERRAFORM_DIR}")
    tf_vars = terraform_vars(target, dist)
    project = ("--project", target.project)
    found = [
        Step("terraform: providers and state", (*tf, "init")),
        Step(
            "terraform: APIs, the image repository and the artifacts bucket (needed by the next steps)",
            (*tf, "apply", *(f"-target={t}" for t in BOOTSTRAP_TARGETS), *tf_vars, *approve),
        ),
    ]
    for spec in IMAGES:
        image = manifest.images[spec.name]
        uri, latest = target.image(image.repository), target.image(image.repository, LATEST)
        context = shown(dist / image.context, root)
        submit = ("gcloud", "builds", "submit", context, "--tag", uri, *project, "--region", target.region)
        found.append(Step(f"Cloud Build: the {spec.name} image", submit))
        retag = ("gcloud", "artifacts", "docker", "tags", "add", uri, latest)
        found.append(Step(f"Artifact Registry: {image.repository}:{LATEST} is this build", retag))
    flex = ("gcloud", "dataflow", "flex-template", "build", target.flex_template)
    flex_options = ("--image", target.image(STREAMING_IMAGE), "--sdk-language", "PYTHON")
    metadata = ("--metadata-file", shown(dist / STREAMING_METADATA, root))
    found.append(
        Step("Dataflow: the streaming Flex Template spec", (*flex, *flex_options, *metadata, *project))
    )
    upload = ("gcloud", "storage", "cp", *(shown(p, root) for p in pipelines), target.pipeline_templates)
    title = f"Cloud Storage: the pipeline templates (tasks on {PIPELINE_IMAGE}:{target.image_tag})"
    found.append(Step(title, (*upload, *project)))
    found.append(Step("terraform: every resource", (*tf, "apply", *tf_vars, *approve)))
    return found
