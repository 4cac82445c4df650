"""The forecasting protocol (:data:`ml.protocol.FORECAST`) run on one series matrix.

Used alike by the training step of the production pipeline and by ``bench/bench_ml.py``: the
network is fitted on the hours up to the first selection origin; it, its initial state and the
simple baselines forecast from every selection and test origin; the champion is the lowest Poisson
deviance on the selection window, and the figures reported are the test window's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.forecasting.backtest import ORACLE, Method, Predictive, backtest
from ml.forecasting.baselines import holt_winters, same_hour_mean, seasonal_naive
from ml.forecasting.metrics import MEAN_FLOOR
from ml.forecasting.model import Forecaster, ForecasterConfig
from ml.forecasting.readiness import EARLY_STOPPING_HOURS, MIN_TRAIN_TARGET_HOURS
from ml.protocol import FORECAST, ForecastProtocol, ForecastWindows, forecast_windows

MODEL = "pytorch"
#: the network's initial state (zero head): its offset, the pooled same-hour mean
INITIAL_STATE = "pytorch_initial_state"
SAME_HOUR_MEAN = "same_hour_mean_8w"
HOLT_WINTERS = "holt_winters"
SEASONAL_NAIVE = "seasonal_naive_weekly"
BASELINES = (SAME_HOUR_MEAN, HOLT_WINTERS, SEASONAL_NAIVE)
#: figures stored in the registry per window for the network, and for each baseline
MODEL_FIGURES = ("deviance", "mase_daily", "bias", "coverage_80", "coverage_95", "smape", "mase")
BASELINE_FIGURES = ("deviance", "mase_daily", "bias")


def baseline_methods(protocol: ForecastProtocol = FORECAST) -> dict[str, Method]:
    return {
        SAME_HOUR_MEAN: lambda h, hh, n: same_hour_mean(h, n, protocol.mean_weeks),
        HOLT_WINTERS: lambda h, hh, n: holt_winters(h, n, protocol.ets_weeks),
        SEASONAL_NAIVE: lambda h, hh, n: np.maximum(seasonal_naive(h, n), MEAN_FLOOR),
    }


def first_origin_allowed(config: ForecasterConfig) -> int:
    """The earliest origin whose preceding hours give a fit its lags, training and early-stopping targets."""
    return config.min_history + max(config.horizon, MIN_TRAIN_TARGET_HOURS + EARLY_STOPPING_HOURS) - 1


@dataclass
class ForecastEvaluation:
    windows: ForecastWindows
    selection: dict[str, dict[str, float]]
    test: dict[str, dict[str, float]]
    fit: dict[str, float]
    model: Forecaster
    #: method with the lowest deviance on the selection window (the oracle excluded)
    champion: str = ""

    def __post_init__(self) -> None:
        candidates = {k: v for k, v in self.selection.items() if k != ORACLE}
        self.champion = min(candidates, key=lambda k: candidates[k]["deviance"])

    @property
    def has_test(self) -> bool:
        return bool(self.test)

    @property
    def reported(self) -> dict[str, dict[str, float]]:
        """The test window's figures, or the selection window's while no test window exists yet."""
        return self.test or self.selection

    @property
    def untrained(self) -> bool:
        return bool(self.fit.get("untrained"))

    def model_label(self) -> str:
        if self.untrained:
            return f"{MODEL} (ended at its initial state, epoch 0: its forecast IS the pooled same-hour mean)"
        return f"{MODEL} (best epoch {int(self.fit['best_epoch'])})"

    def best_baseline(self, window: dict[str, dict[str, float]] | None = None) -> str:
        scores = window if window is not None else self.reported
        return min(BASELINES, key=lambda b: scores[b]["deviance"])

    def metrics(self) -> dict[str, float]:
        """Flat numeric figures for the registry (every key ``<window>_<figure>[_<baseline>]``)."""
        out: dict[str, float] = {
            "selection_origins": float(len(self.windows.selection)),
            "test_origins": float(len(self.windows.test)),
            "champion_is_model": float(self.champion == MODEL),
            "untrained": float(self.untrained),
        }
        for window, scores in (("selection", self.selection), ("test", self.test)):
            if not scores:
                continue
            for fig in MODEL_FIGURES:
                out[f"{window}_{fig}"] = scores[MODEL][fig]
            for name in (*BASELINES, INITIAL_STATE):
                for fig in BASELINE_FIGURES:
                    out[f"{window}_{fig}_{name}"] = scores[name][fig]
            best = self.best_baseline(scores)
            out[f"{window}_deviance_vs_best_baseline"] = scores[MODEL]["deviance"] / scores[best]["deviance"]
        reported = self.reported
        # the earlier keys (``rillflow ml registry list`` shows them): the reported window's
        out["backtest_smape"] = reported[MODEL]["smape"]
        out["backtest_mase"] = reported[MODEL]["mase"]
        out["seasonal_naive_smape"] = reported[SEASONAL_NAIVE]["smape"]
        out["seasonal_naive_mase"] = reported[SEASONAL_NAIVE]["mase"]
        return out


def evaluate(
    values: np.ndarray,
    hours: Any,
    keys: list[tuple[str, str]],
    config: ForecasterConfig,
    protocol: ForecastProtocol = FORECAST,
    oracle: np.ndarray | None = None,
    extra_methods: dict[str, Method] | None = None,
) -> ForecastEvaluation:
    """Fit on the hours before the first selection origin, then backtest every method on both windows."""
    if config.horizon != protocol.horizon:
        protocol = ForecastProtocol(**{**protocol.__dict__, "horizon": config.horizon})
    windows = forecast_windows(len(values), first_origin_allowed(config), protocol)
    cut = windows.first + 1
    model = Forecaster(ForecasterConfig(**{**config.__dict__, "keys": []}))
    fit = model.fit(values[:cut], hours[:cut], keys)
    # the network and its initial state forecast from one design per origin (the backtest calls
    # the methods in this order for each origin)
    initial: dict[tuple[int, int], np.ndarray] = {}

    def network(h: np.ndarray, hh: Any, n: int) -> Predictive:
        mean, initial[(len(h), n)] = model.predict_with_initial(h, hh, n)
        return Predictive(mean, model.config.dispersion)

    def initial_state(h: np.ndarray, hh: Any, n: int) -> np.ndarray:
        done = initial.pop((len(h), n), None)
        return done if done is not None else model.predict(h, hh, n, offset_only=True)

    methods: dict[str, Method] = {
        MODEL: network,
        INITIAL_STATE: initial_state,
        **baseline_methods(protocol),
        **(extra_methods or {}),
    }

    def run(origins: list[int]) -> dict[str, dict[str, float]]:
        if not origins:
            return {}
        return backtest(
            values, hours, origins, protocol.horizon, methods, oracle=oracle, levels=protocol.intervals
        )

    return ForecastEvaluation(windows, run(windows.selection), run(windows.test), fit, model)
