"""Rolling-origin backtests: every method forecasts from the same origins, scored on the same hours.

A method is a function ``(history (T_o, S), history_hours, horizon) -> (horizon, S)`` that only
sees data up to the origin. The oracle (the process's true expected counts, when known) is
scored the same way and gives the Poisson-noise floor no forecaster can beat on average.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ml.forecasting.metrics import mase, smape

Method = Callable[[np.ndarray, Any, int], np.ndarray]
ORACLE = "oracle"


def rolling_origins(n_hours: int, horizon: int, n_origins: int, step: int = 24) -> list[int]:
    """The last ``n_origins`` origins (indices of the last observed hour), ``step`` hours apart."""
    last = n_hours - 1 - horizon
    origins = [last - step * i for i in range(n_origins)][::-1]
    if origins[0] < 0:
        raise ValueError("not enough hours for that many origins")
    return origins


def backtest(
    values: np.ndarray,
    hours: Any,
    origins: Sequence[int],
    horizon: int,
    methods: Mapping[str, Method],
    oracle: np.ndarray | None = None,
    season: int = 168,
) -> dict[str, dict[str, float]]:
    """sMAPE (pooled over origins × leads × series) and MASE (mean over origins × series) per method."""
    values = np.asarray(values, dtype=np.float64)
    forecasts: dict[str, list[np.ndarray]] = {name: [] for name in methods}
    if oracle is not None:
        forecasts[ORACLE] = []
    actuals, histories = [], []
    for o in origins:
        if o + horizon >= len(values):
            raise ValueError(f"origin {o} + horizon {horizon} runs past the data ({len(values)} hours)")
        history, hist_hours = values[: o + 1], hours[: o + 1]
        actuals.append(values[o + 1 : o + 1 + horizon])
        histories.append(history)
        for name, method in methods.items():
            forecasts[name].append(np.asarray(method(history, hist_hours, horizon), dtype=np.float64))
        if oracle is not None:
            forecasts[ORACLE].append(np.asarray(oracle[o + 1 : o + 1 + horizon], dtype=np.float64))
    out: dict[str, dict[str, float]] = {}
    for name, fc in forecasts.items():
        per_series_mase = [
            mase(actual[:, j], f[:, j], history[:, j], season)
            for actual, f, history in zip(actuals, fc, histories, strict=True)
            for j in range(actual.shape[1])
        ]
        out[name] = {
            "smape": smape(np.stack(actuals), np.stack(fc)),
            "mase": float(np.mean(per_series_mase)),
            "origins": float(len(origins)),
        }
    return out
