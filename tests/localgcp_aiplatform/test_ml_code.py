"""Rillflow's own Vertex code, unchanged, against the local Vertex AI and the local Cloud Storage.

``VertexModelRegistry`` uploads artifacts with the storage client (``STORAGE_EMULATOR_HOST``)
and registers versions with ``aiplatform.Model.upload``; ``deploy_model`` creates the endpoint
and deploys. Both call ``aiplatform.init(project=…, location=…)`` themselves, which keeps the
endpoint and credentials ``use_local_vertex`` set (the ``vertex`` fixture).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.cloud import aiplatform, storage  # type: ignore[attr-defined]

from localgcp.events import CollectingSink
from localgcp.services.aiplatform import ModelRecord
from localgcp.services.base import ServiceContext
from localgcp.services.storage import StorageService
from ml.registry.base import Lineage
from ml.registry.vertex import VertexModelRegistry
from ml.serving.deploy import DeploySpec, deploy_model
from rillflow.settings import get_settings
from tests.support.gcs import make_client
from tests.support.vertex import LOCATION, PROJECT, Vertex

pytestmark = pytest.mark.service


@pytest.fixture
def gcs_client(vertex: Vertex) -> Iterator[storage.Client]:
    service = StorageService(
        ServiceContext("127.0.0.1", 0, vertex.home / "storage", PROJECT, CollectingSink())
    )
    service.start()
    try:
        client = make_client(service)  # sets STORAGE_EMULATOR_HOST, as the application sees it
        client.create_bucket(get_settings().ml_bucket)
        yield client
    finally:
        service.stop()


def artifact_reader(client: storage.Client) -> Any:
    """A predictor that, like the serving container, reads the deployed version's artifacts."""

    def predict(model: ModelRecord, instances: list[Any], parameters: Any) -> list[Any]:
        bucket, _, prefix = model.artifact_uri.removeprefix("gs://").partition("/")
        meta = json.loads(client.bucket(bucket).blob(f"{prefix}/metadata.json").download_as_text())
        return [{"kind": meta["model_kind"], "score": inst["x"] * meta["weight"]} for inst in instances]

    return predict


def test_register_and_deploy(vertex: Vertex, gcs_client: storage.Client, tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    (artifacts / "metadata.json").write_text(json.dumps({"model_kind": "churn_classifier", "weight": 2}))
    (artifacts / "model.bin").write_bytes(b"\x00weights")
    lineage = Lineage(table="ml.churn_features", as_of="2026-03-01", row_count=10, content_hash="abc")

    registry = VertexModelRegistry(PROJECT, LOCATION)
    first = registry.register("churn_classifier", artifacts, {"auc": 0.8}, lineage, aliases=["champion"])
    second = registry.register("churn_classifier", artifacts, {"auc": 0.9}, lineage)
    assert (first.version, second.version) == ("1", "2")
    assert first.metrics == {"auc": 0.8} and first.lineage["table"] == "ml.churn_features"
    registry.set_alias("churn_classifier", "2", "champion")
    champion = registry.get("churn_classifier", alias="champion")
    assert champion is not None and champion.version == "2"
    assert sorted(v.version for v in registry.list_versions()) == ["1", "2"]
    downloaded = registry.local_artifacts(champion)
    assert (downloaded / "model.bin").read_bytes() == b"\x00weights"

    vertex.service.predictor = artifact_reader(gcs_client)
    (model,) = aiplatform.Model.list(filter='display_name="churn_classifier"')
    spec = DeploySpec(machine_type="n1-standard-8", accelerator_type="NVIDIA_TESLA_T4", accelerator_count=1)
    endpoint = deploy_model(PROJECT, LOCATION, f"{model.resource_name}@champion", "churn", spec)
    (deployed,) = endpoint.list_models()
    assert deployed.model_version_id == "2"
    assert deployed.dedicated_resources.machine_spec.machine_type == "n1-standard-8"
    assert (
        deployed.dedicated_resources.min_replica_count,
        deployed.dedicated_resources.max_replica_count,
    ) == (1, 2)
    predictions = endpoint.predict(instances=[{"x": 0.25}]).predictions
    assert [dict(p) for p in predictions] == [{"kind": "churn_classifier", "score": 0.5}]

    again = deploy_model(PROJECT, LOCATION, f"{model.resource_name}@1", "churn", DeploySpec())
    assert again.resource_name == endpoint.resource_name  # found by display name, not re-created
    assert len(again.list_models()) == 2 and sum(again.traffic_split.values()) == 100


WRITE_TO_GCS = """
import os
from google.cloud import storage
bucket, _, prefix = os.environ["AIP_MODEL_DIR"].removeprefix("gs://").partition("/")
storage.Client(project="p").bucket(bucket).blob(prefix + "model.txt").upload_from_string("trained")
"""


def test_job_writes_gs_model_dir_through_local_storage(vertex: Vertex, gcs_client: storage.Client) -> None:
    bucket = get_settings().ml_bucket
    job = aiplatform.CustomJob(
        display_name="train-gcs",
        worker_pool_specs=[
            {
                "machine_spec": {"machine_type": "n1-standard-4"},
                "replica_count": 1,
                "container_spec": {
                    "image_uri": "train:latest",
                    "command": [sys.executable, "-c", WRITE_TO_GCS],
                },
            }
        ],
        base_output_dir=f"gs://{bucket}/jobs/1",
        staging_bucket=f"gs://{bucket}",
    )
    job.run(sync=True)
    assert gcs_client.bucket(bucket).blob("jobs/1/model/model.txt").download_as_text() == "trained"
