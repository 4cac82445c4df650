"""The PyTorch forecaster: learns a weekly profile, round-trips through its artifact, writes forecasts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.forecasting.backtest import backtest, rolling_origins
from ml.forecasting.baselines import seasonal_naive
from ml.forecasting.evaluation import evaluate
from ml.forecasting.model import Forecaster, ForecasterConfig
from ml.forecasting.series import align, to_matrix
from ml.forecasting.steps import FORECASTS_SCHEMA, forecast_table, train_and_backtest
from ml.protocol import forecast_windows
from tests.ml.synthetic import hourly_series

H = 48


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    obs, exp = hourly_series(n_hours=24 * 7 * 7)
    m = to_matrix(obs)
    return m, align(m, exp, "expected")


def test_beats_seasonal_naive_and_nears_the_oracle(data) -> None:  # type: ignore[no-untyped-def]
    m, oracle = data
    origins = rolling_origins(len(m.hours), H, 3)
    cut = origins[0] + 1
    model = Forecaster(ForecasterConfig(horizon=H, epochs=12))
    model.fit(m.values[:cut], m.hours[:cut], m.keys)
    scores = backtest(
        m.values,
        m.hours,
        origins,
        H,
        {"model": lambda h, hh, n: model.predict(h, hh, n), "snaive": lambda h, hh, n: seasonal_naive(h, n)},
        oracle=oracle,
    )
    # seasonal naive carries two weeks' Poisson noise; the model averages several weeks of it away
    assert scores["oracle"]["smape"] < scores["model"]["smape"] < 0.92 * scores["snaive"]["smape"]
    assert scores["model"]["smape"] < 1.15 * scores["oracle"]["smape"]
    assert scores["model"]["mase"] < scores["snaive"]["mase"]


def test_artifact_round_trip_and_forecast_rows(data, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    m, _ = data
    model, metrics = train_and_backtest(m, ForecasterConfig(horizon=24, epochs=3))
    assert {"backtest_smape", "seasonal_naive_smape", "backtest_mase"} <= metrics.keys()
    # the protocol's windows: 7 weeks leave room for selection and test origins; every figure is stored
    assert metrics["selection_origins"] == 7 and metrics["test_origins"] > 0
    for key in ("test_deviance", "test_mase_daily", "test_bias", "test_coverage_80", "test_coverage_95"):
        assert np.isfinite(metrics[key]), key
    assert {"test_deviance_same_hour_mean_8w", "test_deviance_holt_winters", "untrained"} <= metrics.keys()
    model.save(tmp_path / "m", metrics)
    loaded = Forecaster.load(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict(m.values, m.hours, 24), model.predict(m.values, m.hours, 24))
    table = forecast_table(loaded, m, 24, "app_activity_forecaster", "4")
    assert table.schema == FORECASTS_SCHEMA and table.num_rows == 24 * len(m.keys)
    rows = table.to_pandas()
    assert (rows["lower"] <= rows["predicted_count"]).all() and (
        rows["predicted_count"] <= rows["upper"]
    ).all()
    assert rows["ts_hour"].min() == m.hours[-1] + np.timedelta64(1, "h")
    assert (rows["origin_ts"] == m.hours[-1]).all()
    with pytest.raises(ValueError, match="horizon"):
        loaded.predict(m.values, m.hours, 500)


def test_a_fit_that_ends_at_its_initial_state_says_so(data) -> None:  # type: ignore[no-untyped-def]
    m, _ = data
    ev = evaluate(m.values, m.hours, m.keys, ForecasterConfig(horizon=H, epochs=0))
    assert ev.fit["best_epoch"] == 0 and ev.untrained and ev.metrics()["untrained"] == 1.0
    assert "initial state" in ev.model_label()
    # its forecast is exactly the offset (the pooled same-hour mean), scored as its own row too
    sel = ev.selection
    assert sel["pytorch"]["deviance"] == pytest.approx(sel["pytorch_initial_state"]["deviance"])
    trained = evaluate(m.values, m.hours, m.keys, ForecasterConfig(horizon=H, epochs=6))
    assert "initial state" not in trained.model_label() or trained.untrained


def test_forecast_windows_shrink_test_first() -> None:
    full = forecast_windows(2520, 671)
    assert (len(full.selection), len(full.test)) == (7, 28)
    assert full.test[-1] == 2520 - 1 - 168 and full.selection[-1] + 168 == full.test[0]
    assert full.test[1] - full.test[0] == 24
    short = forecast_windows(888, 671)  # the first training's minimum: three selection origins, no test
    assert (len(short.selection), len(short.test)) == (3, 0)
    with pytest.raises(ValueError, match="backtest origins"):
        forecast_windows(887, 671)
