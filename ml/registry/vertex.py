"""Vertex AI Model Registry through google-cloud-aiplatform: the registry in the cloud and locally.

Locally the same code talks to the local Vertex AI API of ``localgcp`` (``rillflow.vertex_client``
points the SDK at ``AIPLATFORM_EMULATOR_HOST``) and to the local Cloud Storage
(``STORAGE_EMULATOR_HOST``); nothing here knows which.

A Rillflow model name is the Vertex model's display name; each registration uploads the
artifact directory to ``gs://<artifacts bucket>/models/<name>/<timestamp>/`` and calls
``aiplatform.Model.upload(parent_model=...)`` so that it becomes a new version of the same
model. Vertex has no free-form metrics field on a model version: the full metrics and the
lineage travel in the artifact's ``metadata.json`` (read back for every version listed), and a
summary that fits (the lineage and as many scalar metrics as 2,000 characters hold) in the
version description, for the console. The lineage's Vertex dataset is also a label
(``vertex_dataset``), so models can be filtered by the data they were trained on.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml.registry.base import METADATA_FILE, Lineage, ModelVersion, artifacts_bucket, write_metadata

#: the serving container (built from ml/serving/Dockerfile and pushed to Artifact Registry)
SERVING_IMAGE = "{region}-docker.pkg.dev/{project}/rillflow/ml-serving:latest"
#: Vertex caps a version description at 2,000 characters
DESCRIPTION_LIMIT = 2000
MODEL_LABEL = "rillflow_model"
DATASET_LABEL = "vertex_dataset"


def label_value(value: str) -> str:
    """A Vertex label value: lowercase letters, digits, ``_`` and ``-``, at most 63 characters."""
    return re.sub(r"[^a-z0-9_-]", "-", value.lower())[:63]


def version_labels(model_name: str, lineage: Lineage) -> dict[str, str]:
    labels = {MODEL_LABEL: label_value(model_name)}
    if lineage.dataset:
        labels[DATASET_LABEL] = label_value(lineage.dataset.rsplit("/", 1)[-1])
    return labels


def description(metrics: Mapping[str, Any], lineage: Lineage) -> str:
    """JSON of the lineage and the scalar metrics, dropping metrics (last first) until it fits."""
    scalar = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
    keys = list(scalar)
    while True:
        text = json.dumps({"metrics": {k: scalar[k] for k in keys}, "lineage": lineage.to_dict()})
        if len(text) <= DESCRIPTION_LIMIT or not keys:
            return text[:DESCRIPTION_LIMIT]
        keys.pop()


class VertexModelRegistry:
    def __init__(self, project: str, location: str, bucket: str | None = None) -> None:
        from google.cloud import aiplatform, storage  # type: ignore[attr-defined]

        self.project, self.location = project, location
        self.bucket = bucket or artifacts_bucket()
        self._aip = aiplatform
        self._storage = storage.Client(project=project)
        from rillflow.vertex_client import init_vertex

        init_vertex(project, location, staging_bucket=f"gs://{self.bucket}")

    def _find(self, model_name: str) -> Any | None:
        found = self._aip.Model.list(filter=f'display_name="{model_name}"', order_by="create_time")
        return found[0] if found else None

    def _upload_dir(self, local_dir: Path, prefix: str) -> str:
        bucket = self._storage.bucket(self.bucket)
        for path in sorted(p for p in local_dir.rglob("*") if p.is_file()):
            bucket.blob(f"{prefix}/{path.relative_to(local_dir).as_posix()}").upload_from_filename(str(path))
        return f"gs://{self.bucket}/{prefix}"

    def register(
        self,
        model_name: str,
        artifact_dir: Path,
        metrics: Mapping[str, Any],
        lineage: Lineage,
        aliases: Sequence[str] = (),
    ) -> ModelVersion:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        with tempfile.TemporaryDirectory() as tmp:
            staged = Path(tmp) / "model"
            shutil.copytree(artifact_dir, staged)
            meta_path = staged / METADATA_FILE
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            meta.update(metrics=dict(metrics), lineage=lineage.to_dict())
            write_metadata(staged, **meta)
            uri = self._upload_dir(staged, f"models/{model_name}/{stamp}")
        parent = self._find(model_name)
        model = self._aip.Model.upload(
            display_name=model_name,
            artifact_uri=uri,
            serving_container_image_uri=SERVING_IMAGE.format(region=self.location, project=self.project),
            serving_container_predict_route="/predict",
            serving_container_health_route="/health",
            parent_model=parent.resource_name if parent is not None else None,
            is_default_version=parent is None,
            version_aliases=list(aliases),
            version_description=description(metrics, lineage),
            labels=version_labels(model_name, lineage),
            sync=True,
        )
        return self._version(model, model_name)

    def _metadata(self, artifact_uri: str) -> dict[str, Any]:
        """The version's ``metadata.json`` (empty when the artifact has none)."""
        from google.api_core import exceptions

        bucket, _, prefix = artifact_uri.removeprefix("gs://").partition("/")
        blob = self._storage.bucket(bucket).blob(f"{prefix.rstrip('/')}/{METADATA_FILE}")
        try:
            return dict(json.loads(blob.download_as_text()))
        except (exceptions.NotFound, ValueError):
            return {}

    def _version(self, model: Any, model_name: str) -> ModelVersion:
        try:
            summary = json.loads(model.version_description or "{}")
        except ValueError:
            summary = {}
        meta = self._metadata(model.uri) if model.uri else {}
        return ModelVersion(
            model_name=model_name,
            version=str(model.version_id),
            artifact_uri=model.uri or "",
            metrics=meta.get("metrics", summary.get("metrics", {})),
            lineage=meta.get("lineage", summary.get("lineage", {})),
            aliases=sorted(a for a in (model.version_aliases or []) if a != "default"),
            created_at=str(model.version_create_time),
            labels=dict(model.labels or {}),
        )

    def get(
        self, model_name: str, version: str | None = None, alias: str | None = None
    ) -> ModelVersion | None:
        if (version is None) == (alias is None):
            raise ValueError("give exactly one of version or alias")
        parent = self._find(model_name)
        if parent is None:
            return None
        from google.api_core import exceptions

        try:
            model = self._aip.Model(model_name=f"{parent.resource_name}@{version or alias}")
        except exceptions.NotFound:
            return None
        return self._version(model, model_name)

    def set_alias(self, model_name: str, version: str, alias: str) -> None:
        if alias.isdigit():
            raise ValueError(f"alias must not be a number: {alias!r}")
        parent = self._find(model_name)
        if parent is None:
            raise KeyError(f"no model {model_name!r} in Vertex Model Registry")
        if self.get(model_name, version=version) is None:
            raise KeyError(f"no version {version} of model {model_name!r}")
        # Vertex moves an alias that another version holds (aliases are unique per model).
        self._aip.models.ModelRegistry(parent).add_version_aliases([alias], version=version)

    def list_versions(self, model_name: str | None = None) -> list[ModelVersion]:
        models = (
            [m for m in [self._find(model_name)] if m is not None]
            if model_name
            else self._aip.Model.list(filter=f"labels.{MODEL_LABEL}:*", order_by="display_name")
        )
        out: list[ModelVersion] = []
        for parent in models:
            for info in self._aip.models.ModelRegistry(parent).list_versions():
                model = self._aip.Model(model_name=f"{parent.resource_name}@{info.version_id}")
                out.append(self._version(model, parent.display_name))
        return sorted(out, key=lambda v: (v.model_name, int(v.version)))

    def local_artifacts(self, version: ModelVersion) -> Path:
        """A folder with the version's files (``rillflow.resources``' model files: the bucket's
        folder of plain files locally, a download in the cloud)."""
        from rillflow.resources import resources
        from rillflow.settings import get_settings

        settings = get_settings()
        bucket, _, prefix = version.artifact_uri.removeprefix("gs://").partition("/")
        return resources(settings).model_files(settings, bucket, prefix.rstrip("/"))
