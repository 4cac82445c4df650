"""The KFP pipelines: compiled YAML is current, and the pipelines run end to end with kfp.local."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import kfp
import pyarrow as pa
import pytest

from ml.pipelines.compile import COMPILED_DIR, stale_pipelines
from ml.registry import CHAMPION, get_registry
from rillflow.warehouse import get_warehouse
from tests.ml.synthetic import churn_features, hourly_series
from tests.support.kfp_local import (
    FAILED,
    SUCCEEDED,
    get_pipeline_job,
    resolve_template,
    run_pipeline_job,
    run_pipeline_job_isolated,
)
from tests.support.vertex import Vertex, vertex, vertex_platform

__all__ = ["vertex", "vertex_platform"]  # fixtures: the registry is Vertex AI's, locally too


def query_table(sql: str) -> pa.Table:
    return get_warehouse().query(sql)


def test_checked_in_compiled_yaml_is_up_to_date() -> None:
    assert stale_pipelines() == [], (
        "the pipelines changed since ml/pipelines/compiled/ was generated: run `rillflow ml compile` "
        "and commit the YAML (the kfp version alone never makes it stale)"
    )


def _copy_compiled(tmp_path: Path, edit: Callable[[str], str]) -> Path:
    for path in COMPILED_DIR.glob("*.yaml"):
        (tmp_path / path.name).write_text(edit(path.read_text()))
    return tmp_path


def test_compiled_yaml_does_not_depend_on_the_kfp_patch_version(tmp_path: Path) -> None:
    """A fresh install resolving another kfp release must not turn the checked-in YAML stale."""
    version = re.escape(kfp.__version__)
    bumped = _copy_compiled(tmp_path, lambda t: re.sub(rf"kfp(==|-){version}", r"kfp\g<1>2.17.999", t))
    assert "kfp==2.17.999" in (bumped / "churn_ml.yaml").read_text()
    assert stale_pipelines(bumped) == []


def test_a_change_in_what_a_pipeline_does_is_stale(tmp_path: Path) -> None:
    changed = _copy_compiled(tmp_path, lambda t: t.replace("as_of_date", "as_of_day", 1))
    assert set(stale_pipelines(changed)) == {p.stem for p in COMPILED_DIR.glob("*.yaml")}


def test_template_names_resolve() -> None:
    assert resolve_template("daily_ml") == "daily_ml"
    assert resolve_template("gs://bucket/templates/daily-ml.yaml") == "daily_ml"
    assert resolve_template("ml/pipelines/compiled/churn_ml.yaml") == "churn_ml"
    with pytest.raises(KeyError):
        resolve_template("nope")


@pytest.mark.slow  # runs a pipeline: kfp.local, a subprocess per task
def test_failed_run_reports_state_and_error() -> None:
    # an empty warehouse is not an error any more (see test_cold_start.py); a malformed date is
    record = run_pipeline_job("churn_ml", {"as_of_date": "2026-13-45"})
    assert record["state"] == FAILED
    assert "churn-features-op" in record["error"]["message"] or "churn" in record["error"]["message"]
    assert get_pipeline_job(record["job_id"])["state"] == FAILED


@pytest.mark.slow  # runs a pipeline: kfp.local, a subprocess per task
def test_isolated_run_keeps_kfp_logs_out_of_this_process(capfd: pytest.CaptureFixture[str]) -> None:
    handlers = list(logging.getLogger().handlers)
    record = run_pipeline_job_isolated("churn_ml", {"as_of_date": "2026-13-45"})
    assert record["state"] == FAILED and get_pipeline_job(record["job_id"])["state"] == FAILED
    log = Path(record["log"]).read_text()
    assert "Executing task" in log and "churn-features-op" in log  # kfp.local wrote there...
    out, err = capfd.readouterr()
    assert "Executing task" not in out + err  # ...not here
    assert logging.getLogger().handlers == handlers
    unknown = run_pipeline_job_isolated("nope", {})
    assert unknown["state"] == FAILED and "unknown pipeline template" in unknown["error"]["message"]


@pytest.mark.slow  # runs a pipeline: kfp.local, a subprocess per task
def test_daily_pipeline_trains_scores_and_forecasts_then_reuses_the_champion(vertex_platform: Vertex) -> None:
    wh = get_warehouse()
    features = churn_features(n_customers=150, n_weeks=12)
    wh.write("ml", "ml_churn_features", pa.Table.from_pandas(features, preserve_index=False), mode="replace")
    series, _ = hourly_series(n_hours=24 * 7 * 5)
    wh.write(
        "ml", "ml_app_activity_series", pa.Table.from_pandas(series, preserve_index=False), mode="replace"
    )

    daily = run_pipeline_job(
        "daily-ml", {"as_of_date": "2026-04-26", "retrain": True, "horizon": 24, "epochs": 2}
    )
    assert daily["state"] == SUCCEEDED, daily.get("error")
    churn, forecast = daily["outputs"]["churn"], daily["outputs"]["forecast"]
    assert churn["gate"]["promote"] and churn["model_version"] == "1" and churn["as_of_date"] == "2026-04-26"
    registry = get_registry()
    champion = registry.get("churn_classifier", alias=CHAMPION)
    assert champion is not None and champion.lineage["table"] == "ml.ml_churn_features"
    assert champion.lineage["row_count"] == len(features)
    assert {"roc_auc", "pr_auc", "brier", "lift_at_10pct"} <= champion.metrics.keys()
    scores = query_table("SELECT * FROM ml.ml_churn_scores")
    assert scores.num_rows == churn["rows"] > 0
    assert forecast["model_version"] == "1" and forecast["rows"] == 24 * 2
    forecaster = registry.get("app_activity_forecaster", alias=CHAMPION)
    assert forecaster is not None and forecaster.lineage["dataset"] == forecast["train"]["dataset"]
    assert forecast["train"]["custom_job"].startswith("projects/") and forecast["train"]["deployment"][
        "traffic"
    ] == {"1": 100}
    assert query_table("SELECT COUNT(*) AS n FROM ml.ml_app_forecasts").column("n")[0].as_py() == 24 * 2

    # retrain=false (kfp.local has no dsl.If: the components branch): no training, the champion scores
    again = run_pipeline_job("churn_ml", {"as_of_date": "2026-04-26", "retrain": False})
    assert again["state"] == SUCCEEDED, again.get("error")
    assert again["outputs"]["Output"]["gate"]["promote"] is False
    assert again["outputs"]["Output"]["model_version"] == "1"
    # re-scoring the same as_of_date replaces rows (merge on customer_id, as_of_date): no duplicates
    assert (
        query_table("SELECT COUNT(*) AS n FROM ml.ml_churn_scores").column("n")[0].as_py() == scores.num_rows
    )
    assert [v.version for v in registry.list_versions("churn_classifier")] == ["1"]


def test_ml_settings_parameter_sets_the_vertex_settings_terraform_hands_over() -> None:
    import json

    from ml.pipelines.env import use_settings
    from rillflow.settings import VERTEX_ML_FIELDS, get_settings
    from tests.terraform import hcl

    use_settings(
        json.dumps({"forecast_endpoint_min_replicas": 3, "forecast_train_accelerator_type": "NVIDIA_L4"})
    )
    settings = get_settings()
    assert (
        settings.forecast_endpoint_min_replicas == 3
        and settings.forecast_train_accelerator_type == "NVIDIA_L4"
    )
    use_settings("")  # empty: the environment's
    assert get_settings().forecast_endpoint_min_replicas == 3
    with pytest.raises(ValueError, match="unknown ml_settings"):
        use_settings('{"forecast_endpoint_replicas": 3}')
    assert set(hcl.locals_()["vertex_ml_settings"]) == set(VERTEX_ML_FIELDS)
