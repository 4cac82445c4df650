"""Forecast accuracy: sMAPE and MASE (and their use for the Poisson-noise floor).

The noise floor is not a formula: it is the score of the oracle that forecasts the process's
true expected counts, computed with these same functions.
"""

from __future__ import annotations

import numpy as np


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent: mean of 200·|F−A| / (|A|+|F|), a 0/0 term counting as 0."""
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    if a.shape != f.shape:
        raise ValueError(f"actual {a.shape} and forecast {f.shape} differ in shape")
    if a.size == 0:
        raise ValueError("sMAPE of nothing")
    denom = np.abs(a) + np.abs(f)
    terms = np.divide(2.0 * np.abs(f - a), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100.0 * terms.mean())


def seasonal_naive_scale(history: np.ndarray, season: int) -> float:
    """In-sample MAE of the seasonal-naive forecast y[t−season] over ``history`` (MASE's denominator)."""
    h = np.asarray(history, dtype=np.float64)
    if h.size <= season:
        raise ValueError(f"MASE needs more than {season} history points, got {h.size}")
    return float(np.mean(np.abs(h[season:] - h[:-season])))


def mase(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int = 168) -> float:
    """Mean absolute scaled error: MAE of the forecast / in-sample seasonal-naive MAE of ``history``."""
    a = np.asarray(actual, dtype=np.float64)
    f = np.asarray(forecast, dtype=np.float64)
    if a.shape != f.shape:
        raise ValueError(f"actual {a.shape} and forecast {f.shape} differ in shape")
    scale = seasonal_naive_scale(history, season)
    if scale == 0:
        return float("inf") if np.any(a != f) else 0.0
    return float(np.mean(np.abs(a - f)) / scale)
