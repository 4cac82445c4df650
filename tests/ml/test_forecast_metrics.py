"""Forecast metrics and backtests on toy series whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.forecasting.backtest import backtest, rolling_origins
from ml.forecasting.baselines import ets_forecast, seasonal_naive
from ml.forecasting.metrics import mase, smape
from ml.forecasting.model import design
from ml.forecasting.series import align, to_long, to_matrix


def test_smape_by_hand() -> None:
    # terms: 2·2/22, 0, 0/0 → 0 ; mean = 4/66 → 6.0606 %
    assert smape(np.array([10.0, 20.0, 0.0]), np.array([12.0, 20.0, 0.0])) == pytest.approx(400 / 66)
    assert smape(np.array([0.0]), np.array([5.0])) == pytest.approx(200.0)
    with pytest.raises(ValueError):
        smape(np.array([1.0]), np.array([1.0, 2.0]))


def test_mase_by_hand() -> None:
    # in-sample seasonal naive (m=2) errors: |3−1|, |4−2| → scale 2; forecast MAE (1 + 2)/2 = 1.5 → 0.75
    assert mase(np.array([5.0, 6.0]), np.array([4.0, 8.0]), np.array([1.0, 2.0, 3.0, 4.0]), season=2) == 0.75
    with pytest.raises(ValueError, match="history"):
        mase(np.array([1.0]), np.array([1.0]), np.array([1.0, 2.0]), season=2)


def test_backtest_on_a_repeating_series() -> None:
    week = np.arange(168, dtype=float) % 24 + 1.0
    values = np.tile(week, 4)[:, None]  # 4 identical weeks, one series
    hours = pd.date_range("2026-01-05", periods=len(values), freq="h", tz="UTC")
    origins = rolling_origins(len(values), 24, 3, step=24)
    assert origins == [len(values) - 1 - 24 - 48, len(values) - 1 - 24 - 24, len(values) - 1 - 24]
    result = backtest(
        values,
        hours,
        origins,
        24,
        {"snaive": lambda h, hh, n: seasonal_naive(h, n), "flat": lambda h, hh, n: np.full((n, 1), 12.5)},
        oracle=values,
    )
    assert result["snaive"]["smape"] == 0.0 and result["snaive"]["mase"] == 0.0
    assert result["oracle"]["smape"] == 0.0
    # the in-sample seasonal-naive MAE of a perfectly weekly series is 0 → MASE is infinite for errors
    assert result["flat"]["mase"] == float("inf")
    expected_flat = smape(np.tile(np.arange(24) + 1.0, 3), np.full(72, 12.5))
    assert result["flat"]["smape"] == pytest.approx(expected_flat)


def test_seasonal_naive_and_ets_shapes() -> None:
    rng = np.random.default_rng(0)
    hist = rng.poisson(20, size=(24 * 7 * 2, 2)).astype(float)
    sn = seasonal_naive(hist, 200)
    assert sn.shape == (200, 2)
    np.testing.assert_array_equal(sn[:168], hist[-168:])
    np.testing.assert_array_equal(sn[168:], hist[-168:-136])
    ets = ets_forecast(hist, 24)
    assert ets.shape == (24, 2) and (ets >= 0).all() and abs(ets.mean() - 20) < 5


def test_design_lags_use_only_the_past() -> None:
    y = np.arange(400, dtype=float)[:, None]  # y[t] = t
    hours = np.arange(400) + 24 * 4  # 1970-01-05 (a Monday) 00:00 at index 0
    feats, offset, t = design(y, hours, np.array([350]), horizon=30, weeks=2)
    assert t[0, 0] == 351 and t[0, -1] == 380
    # week mean for target 351: (351−168 + 351−336) / 2 = 99 ; last week = 183
    assert np.expm1(feats[0, 0, 0, 7]) == pytest.approx(99.0, rel=1e-5)
    assert np.expm1(feats[0, 0, 0, 8]) == pytest.approx(183.0, rel=1e-5)
    # latest same hour: lead 1 → t−24 = 327 ; lead 25 → 375 − 48 = 327 ... both ≤ origin
    assert np.expm1(feats[0, 0, 0, 9]) == pytest.approx(327.0, rel=1e-5)
    assert np.expm1(feats[0, 24, 0, 9]) == pytest.approx(327.0, rel=1e-5)
    # 24 h rolling mean at the origin: mean(327..350) = 338.5
    assert np.expm1(feats[0, 0, 0, 10]) == pytest.approx(338.5, rel=1e-5)
    assert offset[0, 0, 0] == pytest.approx(np.log(99.1), rel=1e-5)
    # hour of day of index 351 (Monday + 351 h = day 14, 15:00): sin/cos of 15/24
    assert feats[0, 0, 0, 0] == pytest.approx(np.sin(2 * np.pi * 15 / 24), abs=1e-5)


def test_matrix_round_trip_fills_gaps() -> None:
    rows = pd.DataFrame(
        {
            "ts_hour": pd.to_datetime(["2026-01-01 00:00", "2026-01-01 02:00", "2026-01-01 00:00"], utc=True),
            "country": ["US", "US", "DE"],
            "platform": ["ios", "ios", "web"],
            "event_count": [5, 7, 1],
        }
    )
    m = to_matrix(rows)
    assert m.keys == [("DE", "web"), ("US", "ios")] and len(m.hours) == 3
    np.testing.assert_array_equal(m.values, [[1, 5], [0, 0], [0, 7]])
    back = to_long(m.hours, m.keys, m.values, "event_count")
    assert len(back) == 6
    np.testing.assert_array_equal(align(m, back, "event_count"), m.values)
