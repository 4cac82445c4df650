"""The KFP pipelines: compiled YAML is current, and the pipelines run end to end with kfp.local."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa
import pytest

from ml.pipelines.compile import stale_pipelines
from ml.pipelines.local_runner import (
    FAILED,
    SUCCEEDED,
    get_pipeline_job,
    resolve_template,
    run_pipeline_job,
    run_pipeline_job_isolated,
)
from ml.registry import CHAMPION, get_registry
from rillflow.warehouse import get_warehouse
from tests.ml.synthetic import churn_features, hourly_series


def query_table(sql: str) -> pa.Table:
    return get_warehouse().query(sql)


def test_checked_in_compiled_yaml_is_up_to_date() -> None:
    assert stale_pipelines() == [], "run `rillflow ml compile` and commit ml/pipelines/compiled/"


def test_template_names_resolve() -> None:
    assert resolve_template("daily_ml") == "daily_ml"
    assert resolve_template("gs://bucket/templates/daily-ml.yaml") == "daily_ml"
    assert resolve_template("ml/pipelines/compiled/churn_ml.yaml") == "churn_ml"
    with pytest.raises(KeyError):
        resolve_template("nope")


def test_failed_run_reports_state_and_error() -> None:
    # an empty warehouse is not an error any more (see test_cold_start.py); a malformed date is
    record = run_pipeline_job("churn_ml", {"as_of_date": "2026-13-45"})
    assert record["state"] == FAILED
    assert "churn-features-op" in record["error"]["message"] or "churn" in record["error"]["message"]
    assert get_pipeline_job(record["job_id"])["state"] == FAILED


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


def test_daily_pipeline_trains_scores_and_forecasts_then_reuses_the_champion() -> None:
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
    assert registry.get("app_activity_forecaster", alias=CHAMPION) is not None
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
