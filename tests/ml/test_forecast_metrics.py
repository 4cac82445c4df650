"""Forecast metrics and backtests on toy series whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.forecasting.backtest import backtest, rolling_origins
from ml.forecasting.baselines import (
    ets_forecast,
    holt_winters,
    holt_winters_fixed,
    same_hour_mean,
    seasonal_naive,
)
from ml.forecasting.metrics import (
    MEAN_FLOOR,
    daily_mase,
    interval_hit_rate,
    mase,
    pit_coverage,
    poisson_deviance,
    smape,
    total_bias,
)
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
    assert offset[0, 0, 0] == pytest.approx(np.log(99.0 + MEAN_FLOOR), rel=1e-5)
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


def test_poisson_deviance_bias_and_daily_mase_by_hand() -> None:
    # cells: y=2, μ=1 → 2·(2·ln2 − 1); y=0, μ=0.5 → 1.0
    assert poisson_deviance(np.array([2.0, 0.0]), np.array([1.0, 0.5])) == pytest.approx(
        (2 * (2 * np.log(2) - 1) + 1.0) / 2
    )
    assert poisson_deviance(np.array([3.0]), np.array([3.0])) == 0.0
    assert total_bias(np.array([10.0, 10.0]), np.array([12.0, 10.0])) == pytest.approx(0.1)
    # one series, 9 days of history whose daily totals alternate 24/48 → weekly-naive daily MAE 24;
    # forecast one day of 1/h (24) against 2/h (48): MAE 24 → MASE 1
    hist = np.repeat(np.array([1.0, 2, 1, 2, 1, 2, 1, 2, 1]), 24)[:, None]
    value, left_out = daily_mase(np.full((1, 24, 1), 2.0), np.full((1, 24, 1), 1.0), [hist])
    assert (value, left_out) == (pytest.approx(1.0), 0)
    value, left_out = daily_mase(np.zeros((1, 24, 1)), np.zeros((1, 24, 1)), [np.zeros((240, 1))])
    assert np.isnan(value) and left_out == 1


def test_pit_coverage_is_calibrated_for_counts_where_the_integer_interval_is_not() -> None:
    rng = np.random.default_rng(1)
    mu = rng.uniform(0.05, 0.5, 200_000)
    y = rng.poisson(mu)
    assert pit_coverage(y, mu, 0.95) == pytest.approx(0.95, abs=0.003)
    assert pit_coverage(y, mu, 0.8) == pytest.approx(0.8, abs=0.004)
    assert interval_hit_rate(y, mu, 0.95) > 0.98  # the plain interval over-covers sparse counts
    dense = rng.uniform(5, 10, 50_000)
    assert pit_coverage(rng.poisson(dense), 2 * dense, 0.95) < 0.9  # a biased mean is caught
    # negative binomial: draws with φ = 0.5 are covered by the NB interval, not by the Poisson one
    nb = rng.negative_binomial(2.0, 2.0 / (2.0 + 4.0), 100_000)  # mean 4, φ = 0.5
    assert pit_coverage(nb, np.full(nb.size, 4.0), 0.95, dispersion=0.5) == pytest.approx(0.95, abs=0.005)
    assert pit_coverage(nb, np.full(nb.size, 4.0), 0.95) < 0.9


def test_holt_winters_is_statsmodels_recursion_and_baselines_floor() -> None:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    rng = np.random.default_rng(0)
    m = 24
    y = rng.poisson(5 * (1.5 + np.sin(np.arange(m * 4) * 2 * np.pi / m))).astype(float)
    init = y.reshape(4, m).mean(axis=0)
    ref = ExponentialSmoothing(
        y,
        trend=None,
        seasonal="add",
        seasonal_periods=m,
        initialization_method="known",
        initial_level=init.mean(),
        initial_seasonal=init - init.mean(),
    ).fit(smoothing_level=0.1, smoothing_seasonal=0.2, optimized=False)
    mine = holt_winters_fixed(y, m - 1, 0.1, 0.2, season=m)[:, 0]
    np.testing.assert_allclose(mine, ref.forecast(m - 1), rtol=1e-10)
    sparse = rng.poisson(0.2, size=(168 * 4, 3)).astype(float)
    hw = holt_winters(sparse, 168)
    assert hw.shape == (168, 3) and (hw >= MEAN_FLOOR).all() and abs(hw.mean() - 0.2) < 0.1
    mean = same_hour_mean(sparse, 168, weeks=8)  # only 4 weeks exist: their mean
    np.testing.assert_allclose(mean, np.maximum(sparse.reshape(4, 168, 3).mean(axis=0), MEAN_FLOOR))
