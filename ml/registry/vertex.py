"""Vertex AI Model Registry through google-cloud-aiplatform (the cloud implementation).

A Rillflow model name is the Vertex model's display name; each registration uploads the
artifact directory to ``gs://<artifacts bucket>/models/<name>/<timestamp>/`` and calls
``aiplatform.Model.upload(parent_model=...)`` so that it becomes a new version of the same
model. Metrics and lineage travel in the artifact's ``metadata.json`` and, trimmed, in the
version description (Vertex has no free-form metrics field on a model version).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml.registry.base import METADATA_FILE, Lineage, ModelVersion, artifacts_bucket, write_metadata

#: the serving container (built from ml/serving/Dockerfile and pushed to Artifact Registry)
SERVING_IMAGE = "{region}-docker.pkg.dev/{project}/rillflow/ml-serving:latest"


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
            import shutil

            shutil.copytree(artifact_dir, staged)
            meta_path = staged / METADATA_FILE
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            write_metadata(staged, **meta, metrics=dict(metrics), lineage=lineage.to_dict())
            uri = self._upload_dir(staged, f"models/{model_name}/{stamp}")
        parent = self._find(model_name)
        scalar = {k: v for k, v in metrics.items() if isinstance(v, int | float)}
        model = self._aip.Model.upload(
            display_name=model_name,
            artifact_uri=uri,
            serving_container_image_uri=SERVING_IMAGE.format(region=self.location, project=self.project),
            serving_container_predict_route="/predict",
            serving_container_health_route="/health",
            parent_model=parent.resource_name if parent is not None else None,
            is_default_version=parent is None,
            version_aliases=list(aliases),
            version_description=json.dumps({"metrics": scalar, "lineage": lineage.to_dict()})[:2000],
            labels={"rillflow_model": model_name.replace("_", "-")},
            sync=True,
        )
        return self._version(model, model_name)

    def _version(self, model: Any, model_name: str) -> ModelVersion:
        try:
            description = json.loads(model.version_description or "{}")
        except ValueError:
            description = {}
        return ModelVersion(
            model_name=model_name,
            version=str(model.version_id),
            artifact_uri=model.uri or "",
            metrics=description.get("metrics", {}),
            lineage=description.get("lineage", {}),
            aliases=list(model.version_aliases or []),
            created_at=str(model.version_create_time),
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
        parent = self._find(model_name)
        if parent is None:
            raise KeyError(f"no model {model_name!r} in Vertex Model Registry")
        # Vertex moves an alias that another version holds (aliases are unique per model).
        self._aip.models.ModelRegistry(parent).add_version_aliases([alias], version=version)

    def list_versions(self, model_name: str | None = None) -> list[ModelVersion]:
        models = (
            [m for m in [self._find(model_name)] if m is not None]
            if model_name
            else self._aip.Model.list(filter="labels.rillflow_model:*")
        )
        out: list[ModelVersion] = []
        for parent in models:
            for info in self._aip.models.ModelRegistry(parent).list_versions():
                model = self._aip.Model(model_name=f"{parent.resource_name}@{info.version_id}")
                out.append(self._version(model, parent.display_name))
        return out

    def local_artifacts(self, version: ModelVersion) -> Path:
        """Download the version's artifact directory to a temporary folder."""
        bucket_name, _, prefix = version.artifact_uri.removeprefix("gs://").partition("/")
        target = Path(tempfile.mkdtemp(prefix=f"{version.model_name}-v{version.version}-"))
        for blob in self._storage.list_blobs(bucket_name, prefix=prefix.rstrip("/") + "/"):
            dest = target / blob.name[len(prefix) :].lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            blob.download_to_filename(str(dest))
        return target
