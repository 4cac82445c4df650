"""The daily forecasts through the forecasting endpoint (``predict_step`` → ``Endpoint.predict``),
against the local Vertex AI and Cloud Storage as the stack prepares them (``vertex_platform``):
one compact instance of the champion's ``history_hours``, the rows in ml.ml_app_forecasts equal to
the in-process forecast, a bad instance refused with INVALID_ARGUMENT, a request over Vertex's
1.5 MB limit refused before it is sent, and a skip (with its reason) when nothing is deployed."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from google.api_core import exceptions
from google.cloud import aiplatform

from ml.forecasting.model import Forecaster, ForecasterConfig
from ml.forecasting.series import to_matrix
from ml.forecasting.steps import FORECASTS_TABLE, forecast_table, predict_step
from ml.readiness import is_missing_table
from ml.registry import CHAMPION, Lineage, get_registry
from ml.serving import predictors
from ml.training.steps import deploy
from rillflow.settings import get_settings
from rillflow.warehouse import get_warehouse
from tests.ml.synthetic import hourly_series
from tests.support.vertex import Vertex

MODEL = "app_activity_forecaster"
HORIZON = 24


@pytest.fixture
def deployed(vertex_platform: Vertex, tmp_path: Path) -> tuple[Path, Path]:
    """A trained forecaster registered as champion and deployed (series Parquet, model directory)."""
    frame, _ = hourly_series(n_hours=24 * 7 * 7)
    series = tmp_path / "series.parquet"
    frame.to_parquet(series, index=False)
    matrix = to_matrix(frame)
    model = Forecaster(ForecasterConfig(horizon=HORIZON, epochs=1))
    model.fit(matrix.values, matrix.hours, matrix.keys)
    model_dir = model.save(tmp_path / "model")
    lineage = Lineage(
        table="ml.ml_app_activity_series", as_of="2026-02-22", row_count=len(frame), content_hash="h"
    )
    get_registry().register(MODEL, model_dir, {}, lineage, aliases=[CHAMPION])
    assert deploy(MODEL)["traffic"] == {"1": 100}
    return series, model_dir


def _forecasts() -> list[dict[str, object]]:
    rows = get_warehouse().query(f"SELECT * FROM ml.{FORECASTS_TABLE} ORDER BY ts_hour, country, platform")
    return list(rows.to_pylist())


def test_the_daily_forecast_goes_through_the_endpoint(deployed: tuple[Path, Path]) -> None:
    series, model_dir = deployed
    result = predict_step(series, HORIZON, MODEL)
    assert result["rows"] == HORIZON * 2 and result["model_version"] == "1"
    assert result["history_hours"] == Forecaster.load(model_dir).config.history_hours == 1008
    assert result["series"] == 2 and 0 < result["request_bytes"] < predictors.REQUEST_LIMIT_BYTES
    (endpoint,) = aiplatform.Endpoint.list(filter='display_name="app-activity-forecast"')
    assert result["endpoint"] == endpoint.resource_name
    assert result["deployed_model_id"] == endpoint.list_models()[0].id

    # the rows are what the champion forecasts in-process from the same series
    matrix = to_matrix(pd.read_parquet(series))
    want = forecast_table(Forecaster.load(model_dir), matrix, HORIZON, MODEL, "1").to_pandas()
    want = want.sort_values(["ts_hour", "country", "platform"]).reset_index(drop=True)
    got = _forecasts()
    assert len(got) == len(want) == HORIZON * 2
    for row, (_, expected) in zip(got, want.iterrows(), strict=True):
        assert (row["ts_hour"], row["country"], row["platform"]) == (
            expected["ts_hour"].to_pydatetime(),
            expected["country"],
            expected["platform"],
        )
        assert row["predicted_count"] == pytest.approx(expected["predicted_count"], rel=0, abs=5e-7)
        assert (row["lower"], row["upper"]) == (expected["lower"], expected["upper"])
        assert row["model_version"] == "1" and row["origin_ts"] == matrix.hours[-1].to_pydatetime()

    # idempotent: the same origin again replaces its rows
    assert predict_step(series, HORIZON, MODEL)["rows"] == HORIZON * 2
    assert len(_forecasts()) == HORIZON * 2


def test_a_bad_compact_instance_is_invalid_argument(deployed: tuple[Path, Path]) -> None:
    series, _ = deployed
    matrix = to_matrix(pd.read_parquet(series))
    instance = predictors.compact_instance(matrix.values[-500:], matrix.keys, matrix.hours[-1], HORIZON)
    (endpoint,) = aiplatform.Endpoint.list(filter='display_name="app-activity-forecast"')
    served = endpoint.predict(instances=[instance]).predictions[0]
    assert [(f["country"], f["platform"]) for f in served["forecasts"]] == matrix.keys
    with pytest.raises(exceptions.InvalidArgument, match=r"inflates to 4000 bytes; 501 hours × 2 series"):
        endpoint.predict(instances=[{**instance, "hours": 501}])
    with pytest.raises(exceptions.InvalidArgument, match="not valid base64"):
        endpoint.predict(instances=[{**instance, "counts_b64": "@@@"}])


def test_a_request_over_the_limit_is_not_sent(
    deployed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    series, _ = deployed
    monkeypatch.setattr(predictors, "REQUEST_LIMIT_BYTES", 1000)
    with pytest.raises(
        ValueError, match=r"bytes for 2 series × 1008 hours, above Vertex AI's online prediction"
    ):
        predict_step(series, HORIZON, MODEL)
    with pytest.raises(Exception) as caught:  # nothing was written
        get_warehouse().query(f"SELECT * FROM ml.{FORECASTS_TABLE}")
    assert is_missing_table(caught.value)


def test_nothing_deployed_is_a_skip_with_its_reason(deployed: tuple[Path, Path]) -> None:
    series, _ = deployed
    (endpoint,) = aiplatform.Endpoint.list(filter='display_name="app-activity-forecast"')
    endpoint.undeploy_all()
    result = predict_step(series, HORIZON, MODEL)
    assert result["skipped"] is True and "has no deployed model taking traffic" in result["reason"]
    os.environ["RILLFLOW_FORECAST_ENDPOINT"] = "no-such-endpoint"
    get_settings.cache_clear()
    result = predict_step(series, HORIZON, MODEL)
    assert result["skipped"] is True and "'no-such-endpoint' does not exist yet" in result["reason"]
