"""``rillflow ml``: registry listing, compile check, argument errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ml.registry import CHAMPION, Lineage, get_registry
from rillflow.commands.ml import ml_group
from tests.support.vertex import Vertex, vertex, vertex_platform

__all__ = ["vertex", "vertex_platform"]  # fixtures: the registry is Vertex AI's, locally too


def test_registry_list_shows_versions_and_aliases(vertex_platform: Vertex, tmp_path: Path) -> None:
    art = tmp_path / "m"
    art.mkdir()
    (art / "f").write_text("x")
    reg = get_registry()
    lineage = Lineage("ml.ml_churn_features", "2026-04-26", 42, "h")
    reg.register("churn_classifier", art, {"roc_auc": 0.81234}, lineage)
    reg.register("churn_classifier", art, {"roc_auc": 0.83}, lineage, aliases=[CHAMPION])
    result = CliRunner().invoke(ml_group, ["registry", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert '"aliases": [\n      "champion"\n    ]' in result.output
    table = CliRunner(env={"COLUMNS": "250"}).invoke(ml_group, ["registry", "list"])
    assert table.exit_code == 0
    assert "champion" in table.output and "roc_auc=0.8123" in table.output and "42 rows" in table.output


def test_compile_check_and_bad_params() -> None:
    assert CliRunner().invoke(ml_group, ["compile", "--check"]).exit_code == 0
    bad = CliRunner().invoke(ml_group, ["run", "daily_ml", "--param", "oops"])
    assert bad.exit_code != 0 and "NAME=VALUE" in bad.output


def test_serve_without_a_champion_fails_clearly(vertex_platform: Vertex) -> None:
    result = CliRunner().invoke(ml_group, ["serve"])
    assert result.exit_code != 0 and "no version with alias 'champion'" in result.output


def test_registry_without_a_local_stack_says_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AIPLATFORM_EMULATOR_HOST", "STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))  # no user credentials either
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # nor a metadata server
    result = CliRunner().invoke(ml_group, ["registry", "list"])
    assert result.exit_code == 1 and "the local stack is not running" in result.output, result.output
