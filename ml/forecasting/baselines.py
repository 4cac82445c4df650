"""Statistical baselines: seasonal naive and ETS (standing in for BigQuery ML's ARIMA_PLUS).

The ETS stand-in is statsmodels' Holt-Winters ``ExponentialSmoothing`` with additive DAILY
seasonality (24 h), no trend, fitted on the log1p scale of the last ``fit_weeks`` weeks of each
series — ARIMA_PLUS likewise models daily/weekly seasonality after a transform. The seasonal
naive repeats the value one WEEK earlier (``season=168``).
"""

from __future__ import annotations

import warnings

import numpy as np


def seasonal_naive(history: np.ndarray, horizon: int, season: int = 168) -> np.ndarray:
    """Forecast y[T+h] = y[T+h−season·k] (k the smallest that reaches into history). history: (T, S)."""
    h = np.asarray(history, dtype=np.float64)
    if h.shape[0] < season:
        raise ValueError(f"seasonal naive needs at least {season} hours of history")
    last = h[-season:]
    reps = -(-horizon // season)
    return np.tile(last, (reps, 1))[:horizon] if h.ndim == 2 else np.tile(last, reps)[:horizon]


def ets_forecast(history: np.ndarray, horizon: int, season: int = 24, fit_weeks: int = 4) -> np.ndarray:
    """Holt-Winters (additive daily seasonality on log1p counts) per column of ``history`` (T, S)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    h = np.asarray(history, dtype=np.float64)
    if h.ndim == 1:
        h = h[:, None]
    window = h[-fit_weeks * 168 :]
    out = np.empty((horizon, h.shape[1]))
    for j in range(h.shape[1]):
        y = np.log1p(window[:, j])
        if np.ptp(y) == 0:
            out[:, j] = window[-1, j]
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = ExponentialSmoothing(y, trend=None, seasonal="add", seasonal_periods=season).fit()
            out[:, j] = np.expm1(fit.forecast(horizon))
    return np.clip(out, 0.0, None)
