"""The daily pipeline on a fresh platform: no tables, too little history, no champion — it succeeds and says why."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from ml.forecasting.readiness import hours_to_train
from ml.registry import CHAMPION, get_registry
from rillflow.warehouse import get_warehouse
from tests.ml.synthetic import churn_features, hourly_series
from tests.support.kfp_local import SUCCEEDED, get_pipeline_job, run_pipeline_job
from tests.support.vertex import Vertex, vertex, vertex_platform

__all__ = ["vertex", "vertex_platform"]  # fixtures: the registry is Vertex AI's, locally too

HORIZON = 24
PARAMS = {"as_of_date": "2026-04-26", "horizon": HORIZON, "epochs": 1}


def write(table: str, frame) -> None:  # type: ignore[no-untyped-def]
    get_warehouse().write("ml", table, pa.Table.from_pandas(frame, preserve_index=False), mode="replace")


def assert_nothing_written() -> None:
    for table in ("ml_churn_scores", "ml_app_forecasts"):
        with pytest.raises(duckdb.CatalogException):
            get_warehouse().query(f"SELECT * FROM ml.{table}")
    assert get_registry().list_versions() == []


#: each test runs a pipeline: kfp.local, a subprocess per task
pytestmark = pytest.mark.slow


def test_empty_warehouse_succeeds_with_skipped_outputs(vertex_platform: Vertex) -> None:
    record = run_pipeline_job("daily_ml", {**PARAMS, "retrain": False})
    assert record["state"] == SUCCEEDED, record.get("error")
    churn, forecast = record["outputs"]["churn"], record["outputs"]["forecast"]
    assert churn["skipped"] is True and forecast["skipped"] is True
    assert "'churn_classifier' has no 'champion' version yet" in churn["reason"]
    assert "ml.ml_churn_features does not exist yet" in churn["reason"]
    assert churn["gate"] == {"promote": False, "skipped": True, "reason": churn["gate"]["reason"]}
    assert "'app_activity_forecaster' has no 'champion' version yet" in forecast["reason"]
    assert "ml.ml_app_activity_series does not exist yet" in forecast["train"]["reason"]
    assert get_pipeline_job(record["job_id"])["outputs"] == record["outputs"]
    assert_nothing_written()


def test_too_short_history_succeeds_with_skipped_outputs(vertex_platform: Vertex) -> None:
    write("ml_churn_features", churn_features(n_customers=40, n_weeks=4))  # no label observable yet
    series, _ = hourly_series(n_hours=26)
    write("ml_app_activity_series", series)
    record = run_pipeline_job("daily_ml", {**PARAMS, "as_of_date": "2026-04-26", "retrain": True})
    assert record["state"] == SUCCEEDED, record.get("error")
    churn, forecast = record["outputs"]["churn"], record["outputs"]["forecast"]
    assert churn["skipped"] and "no labelled churn rows yet" in churn["gate"]["reason"]
    assert forecast["skipped"] and forecast["train"]["skipped"]
    need = hours_to_train(HORIZON)
    assert (
        f"has 26 hours of history; training the forecaster (horizon {HORIZON} h) needs at least {need}"
        in (forecast["train"]["reason"])
    )
    assert_nothing_written()


def test_bootstrap_trains_the_first_champions_without_retrain(vertex_platform: Vertex) -> None:
    features = churn_features(n_customers=80, n_weeks=11)
    write("ml_churn_features", features)
    series, _ = hourly_series(n_hours=hours_to_train(HORIZON))  # exactly the minimum
    write("ml_app_activity_series", series)
    record = run_pipeline_job("daily_ml", {**PARAMS, "retrain": False})
    assert record["state"] == SUCCEEDED, record.get("error")
    churn, forecast = record["outputs"]["churn"], record["outputs"]["forecast"]
    assert "skipped" not in churn and churn["gate"]["promote"] and churn["model_version"] == "1"
    assert "skipped" not in forecast and forecast["train"]["trigger"] == "bootstrap: no champion yet"
    assert forecast["model_version"] == "1" and forecast["rows"] == HORIZON * 2
    registry = get_registry()
    for name in ("churn_classifier", "app_activity_forecaster"):
        champion = registry.get(name, alias=CHAMPION)
        assert champion is not None and champion.version == "1"
        # the forecaster trained in a CustomJob on the Vertex dataset over its table: in its lineage
        dataset = {"dataset"} if name == "app_activity_forecaster" else set()
        assert set(champion.lineage) == {"table", "as_of", "row_count", "content_hash", *dataset}
    scores = get_warehouse().query("SELECT COUNT(*) AS n FROM ml.ml_churn_scores").column("n")[0].as_py()
    assert scores == churn["rows"] > 0
