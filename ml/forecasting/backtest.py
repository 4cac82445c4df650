"""Rolling-origin backtests: every method forecasts from the same origins, scored on the same hours.

A method is a function ``(history (T_o, S), history_hours, horizon) -> (horizon, S)`` that only
sees data up to the origin; it returns its forecast mean, or a :class:`Predictive` (mean and the
negative-binomial dispersion of its predictive distribution; a plain mean is read as Poisson).
The oracle (the process's true expected counts, when known) is scored the same way and gives the
Poisson-noise floor no forecaster can beat on average.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.forecasting.metrics import (
    daily_mase,
    hit_rate_from,
    pit_bounds,
    pit_coverage_from,
    poisson_deviance,
    smape,
    total_bias,
)

ORACLE = "oracle"
#: central interval levels scored by default (``ml.protocol.ForecastProtocol.intervals``)
LEVELS = (0.8, 0.95)


@dataclass(frozen=True)
class Predictive:
    mean: np.ndarray
    #: negative-binomial dispersion φ (Var = μ + φμ²); 0 is Poisson
    dispersion: float = 0.0


Method = Callable[[np.ndarray, Any, int], "np.ndarray | Predictive"]


def rolling_origins(n_hours: int, horizon: int, n_origins: int, step: int = 24) -> list[int]:
    """The last ``n_origins`` origins (indices of the last observed hour), ``step`` hours apart."""
    last = n_hours - 1 - horizon
    origins = [last - step * i for i in range(n_origins)][::-1]
    if origins[0] < 0:
        raise ValueError("not enough hours for that many origins")
    return origins


def _predictive(out: np.ndarray | Predictive) -> Predictive:
    if isinstance(out, Predictive):
        return Predictive(np.asarray(out.mean, dtype=np.float64), float(out.dispersion))
    return Predictive(np.asarray(out, dtype=np.float64))


def naive_scales(histories: list[np.ndarray], season: int = 168) -> list[np.ndarray]:
    """Per history (T_i, S): each series' in-sample seasonal-naive MAE (the hourly MASE's scale)."""
    out = []
    for history in histories:
        if len(history) <= season:
            raise ValueError(f"MASE needs more than {season} history points, got {len(history)}")
        out.append(np.mean(np.abs(history[season:] - history[:-season]), axis=0))
    return out


def score(
    actual: np.ndarray,
    mean: np.ndarray,
    histories: list[np.ndarray],
    dispersion: float = 0.0,
    levels: Sequence[float] = LEVELS,
    season: int = 168,
    scales: list[np.ndarray] | None = None,
) -> dict[str, float]:
    """Every figure of one method on (n_origins, H, S) actuals and means.

    ``scales``: :func:`naive_scales` of ``histories`` when the caller has them (one computation
    for every method scored on the same origins).
    """
    out = {
        "deviance": poisson_deviance(actual, mean),
        "bias": total_bias(actual, mean),
        "smape": smape(actual, mean),
    }
    if actual.shape[1] % 24 == 0 and len(histories[0]) > 24 * 7:
        out["mase_daily"], dropped = daily_mase(actual, mean, histories)
        out["mase_daily_series_left_out"] = float(dropped)
    hourly = []  # the older hourly MASE per (origin, series), vectorised over series
    for i, scale in enumerate(scales if scales is not None else naive_scales(histories, season)):
        err = np.mean(np.abs(actual[i] - mean[i]), axis=0)
        hourly.append(
            np.where(scale > 0, err / np.where(scale > 0, scale, 1.0), np.where(err > 0, np.inf, 0.0))
        )
    flat = np.concatenate(hourly)
    finite = flat[np.isfinite(flat)]
    out["mase"] = float(np.mean(finite)) if finite.size else float("inf")
    out["mase_infinite_share"] = 1.0 - finite.size / flat.size
    bounds = pit_bounds(actual, mean, dispersion)
    for level in levels:
        pct = round(level * 100)
        out[f"coverage_{pct}"] = pit_coverage_from(bounds, level)
        out[f"hit_rate_{pct}"] = hit_rate_from(bounds, level)
    return out


def backtest(
    values: np.ndarray,
    hours: Any,
    origins: Sequence[int],
    horizon: int,
    methods: Mapping[str, Method],
    oracle: np.ndarray | None = None,
    season: int = 168,
    levels: Sequence[float] = LEVELS,
) -> dict[str, dict[str, float]]:
    """Scores per method (:func:`score`), pooled over origins × leads × series.

    ``mase`` is the older hourly MASE (mean over origins × series of the in-sample seasonal-naive
    scaled MAE); a series with a zero scale (a sparse series: the same count each week) is left out of
    it and ``mase_infinite_share`` says how many were.
    """
    values = np.asarray(values, dtype=np.float64)
    means: dict[str, list[np.ndarray]] = {name: [] for name in methods}
    dispersion: dict[str, list[float]] = {name: [] for name in methods}
    if oracle is not None:
        means[ORACLE], dispersion[ORACLE] = [], []
    actuals, histories = [], []
    for o in origins:
        if o + horizon >= len(values):
            raise ValueError(f"origin {o} + horizon {horizon} runs past the data ({len(values)} hours)")
        history, hist_hours = values[: o + 1], hours[: o + 1]
        actuals.append(values[o + 1 : o + 1 + horizon])
        histories.append(history)
        for name, method in methods.items():
            p = _predictive(method(history, hist_hours, horizon))
            means[name].append(p.mean)
            dispersion[name].append(p.dispersion)
        if oracle is not None:
            means[ORACLE].append(np.asarray(oracle[o + 1 : o + 1 + horizon], dtype=np.float64))
            dispersion[ORACLE].append(0.0)
    actual = np.stack(actuals)
    # the histories are prefixes of ``values``: every origin's scale from one running sum
    if min(origins) + 1 <= season:
        raise ValueError(f"MASE needs more than {season} history points, got {min(origins) + 1}")
    running = np.cumsum(np.abs(values[season:] - values[:-season]), axis=0)
    scales = [running[o - season] / (o + 1 - season) for o in origins]
    out: dict[str, dict[str, float]] = {}
    for name, fc in means.items():
        phi = float(np.mean(dispersion[name]))
        out[name] = {
            **score(actual, np.stack(fc), histories, phi, levels, season, scales),
            "origins": float(len(origins)),
        }
        if phi:
            out[name]["dispersion"] = phi
    return out
