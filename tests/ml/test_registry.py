"""The model registry: Vertex AI Model Registry in both environments (locally the local Vertex AI API
and Cloud Storage, ``vertex_platform``): versions, aliases, artifacts, metrics and lineage."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from ml.registry import CHAMPION, Lineage, get_registry, table_fingerprint
from ml.registry.vertex import DESCRIPTION_LIMIT, VertexModelRegistry
from rillflow.resources import RESOURCES
from rillflow.settings import get_settings
from tests.support.vertex import PARENT, Vertex, vertex, vertex_platform

__all__ = ["vertex", "vertex_platform"]


def _artifact(tmp_path: Path, name: str, content: str) -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "model.bin").write_text(content)
    return d


LINEAGE = Lineage("ml.ml_churn_features", "2026-04-26", 10, "abc")


def test_versions_aliases_and_artifacts(vertex_platform: Vertex, tmp_path: Path) -> None:
    reg = get_registry()
    assert isinstance(reg, VertexModelRegistry)
    v1 = reg.register("churn", _artifact(tmp_path, "a", "one"), {"roc_auc": 0.7}, LINEAGE, aliases=[CHAMPION])
    v2 = reg.register("churn", _artifact(tmp_path, "b", "two"), {"roc_auc": 0.8}, LINEAGE)
    other = reg.register("forecast", _artifact(tmp_path, "c", "x"), {}, LINEAGE, aliases=[CHAMPION])
    assert (v1.version, v2.version, other.version) == ("1", "2", "1")
    bucket = get_settings().ml_bucket
    assert v1.artifact_uri.startswith(f"gs://{bucket}/models/churn/")
    # the artifacts are plain files in the local Storage's bucket folder: no download
    local = reg.local_artifacts(v2)
    assert local.is_relative_to(get_settings().bucket_dir(bucket))
    assert (local / "model.bin").read_text() == "two"
    assert json.loads((local / "metadata.json").read_text())["metrics"] == {"roc_auc": 0.8}
    assert reg.get("churn", alias=CHAMPION).version == "1"  # type: ignore[union-attr]
    reg.set_alias("churn", "2", CHAMPION)
    assert reg.get("churn", alias=CHAMPION).version == "2"  # type: ignore[union-attr]
    listed = {(v.model_name, v.version): v for v in reg.list_versions()}
    assert list(listed) == [("churn", "1"), ("churn", "2"), ("forecast", "1")]
    assert listed[("churn", "1")].aliases == [] and listed[("churn", "2")].aliases == [CHAMPION]
    assert listed[("forecast", "1")].aliases == [CHAMPION]
    assert listed[("churn", "2")].metrics == {"roc_auc": 0.8}
    assert listed[("churn", "1")].lineage == LINEAGE.to_dict()
    assert listed[("churn", "1")].labels == {"rillflow_model": "churn"}
    assert reg.get("churn", version="9") is None and reg.get("nope", alias=CHAMPION) is None
    with pytest.raises(KeyError):
        reg.set_alias("churn", "9", CHAMPION)
    with pytest.raises(ValueError, match="number"):
        reg.set_alias("churn", "1", "7")


def test_many_metrics_and_the_dataset_survive(vertex_platform: Vertex, tmp_path: Path) -> None:
    """Vertex keeps 2,000 characters of description: the full metrics live in metadata.json."""
    metrics = {f"selection_metric_number_{i}": i / 7 for i in range(200)}
    lineage = Lineage("ml.ml_app_activity_series", "2026-04-26", 5, "h", dataset=f"{PARENT}/datasets/1007")
    reg = get_registry()
    version = reg.register("forecaster", _artifact(tmp_path, "f", "w"), metrics, lineage, aliases=[CHAMPION])
    got = reg.get("forecaster", alias=CHAMPION)
    assert got is not None and got.metrics == metrics == version.metrics
    assert got.lineage["dataset"] == f"{PARENT}/datasets/1007"
    assert got.labels == {"rillflow_model": "forecaster", "vertex_dataset": "1007"}
    from google.cloud import aiplatform

    (model,) = aiplatform.Model.list(filter='display_name="forecaster"')
    summary = json.loads(model.version_description)
    assert len(model.version_description) <= DESCRIPTION_LIMIT and summary["lineage"] == lineage.to_dict()
    assert 0 < len(summary["metrics"]) < len(metrics)


def test_both_environments_pick_the_vertex_registry() -> None:
    assert {r.registry_factory for r in RESOURCES.values()} == {"ml.registry:vertex_registry"}


def test_table_fingerprint_is_content_based() -> None:
    a = pa.table({"x": [1, 2, 3]})
    assert table_fingerprint(a) == table_fingerprint(pa.table({"x": [1, 2, 3]}))
    assert table_fingerprint(a) != table_fingerprint(pa.table({"x": [1, 2, 4]}))
