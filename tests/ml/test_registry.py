"""The local model registry: versions, aliases, artifacts, lineage; settings pick the implementation."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from ml.registry import CHAMPION, Lineage, get_registry, table_fingerprint
from ml.registry.local import LocalModelRegistry
from rillflow.settings import get_settings


def _artifact(tmp_path: Path, name: str, content: str) -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "model.bin").write_text(content)
    return d


LINEAGE = Lineage("ml.ml_churn_features", "2026-04-26", 10, "abc")


def test_versions_aliases_and_artifacts(tmp_path: Path) -> None:
    reg = get_registry()
    assert isinstance(reg, LocalModelRegistry)
    v1 = reg.register("churn", _artifact(tmp_path, "a", "one"), {"roc_auc": 0.7}, LINEAGE, aliases=[CHAMPION])
    v2 = reg.register("churn", _artifact(tmp_path, "b", "two"), {"roc_auc": 0.8}, LINEAGE)
    other = reg.register("forecast", _artifact(tmp_path, "c", "x"), {}, LINEAGE, aliases=[CHAMPION])
    assert (v1.version, v2.version, other.version) == ("1", "2", "1")
    assert v1.artifact_uri.endswith("/models/churn/v1") and v1.artifact_uri.startswith("gs://")
    home = get_settings().home
    assert Path(v1.local_path).is_relative_to(home / "gcs")
    assert (reg.local_artifacts(v2) / "model.bin").read_text() == "two"
    assert reg.get("churn", alias=CHAMPION).version == "1"  # type: ignore[union-attr]
    reg.set_alias("churn", "2", CHAMPION)
    assert reg.get("churn", alias=CHAMPION).version == "2"  # type: ignore[union-attr]
    listed = {(v.model_name, v.version): v for v in reg.list_versions()}
    assert listed[("churn", "1")].aliases == [] and listed[("churn", "2")].aliases == [CHAMPION]
    assert listed[("forecast", "1")].aliases == [CHAMPION]
    assert listed[("churn", "2")].metrics == {"roc_auc": 0.8}
    assert listed[("churn", "1")].lineage == LINEAGE.to_dict()
    assert reg.get("churn", version="9") is None and reg.get("nope", alias=CHAMPION) is None
    with pytest.raises(KeyError):
        reg.set_alias("churn", "9", CHAMPION)
    with pytest.raises(ValueError, match="number"):
        reg.set_alias("churn", "1", "7")
    # a second registry object on the same home sees the same state
    assert [v.version for v in LocalModelRegistry(home).list_versions("churn")] == ["1", "2"]


def test_cloud_settings_pick_vertex(monkeypatch: pytest.MonkeyPatch) -> None:
    import ml.registry.vertex as vertex

    created: dict[str, str] = {}

    class FakeVertex:
        def __init__(self, project: str, location: str) -> None:
            created.update(project=project, location=location)

    monkeypatch.setattr(vertex, "VertexModelRegistry", FakeVertex)
    os.environ.update(RILLFLOW_ENV="cloud", GOOGLE_CLOUD_PROJECT="p1", RILLFLOW_REGION="us-central1")
    get_settings.cache_clear()
    assert isinstance(get_registry(), FakeVertex)
    assert created == {"project": "p1", "location": "us-central1"}


def test_table_fingerprint_is_content_based() -> None:
    a = pa.table({"x": [1, 2, 3]})
    assert table_fingerprint(a) == table_fingerprint(pa.table({"x": [1, 2, 3]}))
    assert table_fingerprint(a) != table_fingerprint(pa.table({"x": [1, 2, 4]}))
