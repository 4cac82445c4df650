"""How much hourly history the forecaster needs: the one place these minimums are defined.

Kept free of torch imports (the snapshot step uses it). Training (:func:`ml.forecasting.steps.
train_and_backtest`) first fits a hold-out model on the data before the earliest backtest origin,
then forecasts ``horizon`` hours from each origin, then refits on everything. Each fit needs
``TRAIN_MIN_HISTORY_WEEKS`` weeks of weekly lags before its first target hour, then at least
``MIN_TRAIN_TARGET_HOURS`` of training targets (every hour of the week once) and the
``EARLY_STOPPING_HOURS`` held out for early stopping. With fewer hours the net would have no
training rows at all (only its untrained weekly-mean offset), so the series must span at least
:func:`hours_to_train` hours.
"""

from __future__ import annotations

from ml.protocol import FORECAST, ForecastProtocol
from ml.readiness import Readiness

WEEK_HOURS = 168
#: weeks of weekly lags (y[t−168k]) a training origin needs (``ForecasterConfig.min_weeks``)
TRAIN_MIN_HISTORY_WEEKS = 2
#: target hours a fit trains on before its early-stopping window (one of each hour of the week)
MIN_TRAIN_TARGET_HOURS = WEEK_HOURS
#: the last target hours of a fit held out for early stopping (``ForecasterConfig.val_hours``)
EARLY_STOPPING_HOURS = WEEK_HOURS
#: the first training backtests this many origins, this many hours apart (:data:`ml.protocol.FORECAST`:
#: with more history the selection and test windows grow to their full size)
BACKTEST_ORIGINS = FORECAST.min_origins
BACKTEST_ORIGIN_STEP_HOURS = FORECAST.origin_step
#: a forecast needs y[t−168] for every target hour: at least one week of history
PREDICT_MIN_HOURS = WEEK_HOURS
#: weeks of weekly lags a forecast reads (``ForecasterConfig.weeks``): its history, since the local
#: profile's 4 weeks and the level's 2 lie within (``ForecasterConfig.history_hours``)
LAG_WEEKS = 6
#: a fit's training origins lie in its last this many weeks (``ForecasterConfig.train_weeks``):
#: on the ML bench's sparse and dense regimes 2 weeks cost the sparse deviance 2.4 %, 3 weeks flip
#: the dense regime's offset to the worse one, 4 are within noise but below, 6 (all the bench's
#: hold-out fit can have) are as good as an unbounded window (ml/README.md, issue 17)
TRAIN_WINDOW_WEEKS = 6


def hours_to_train(horizon: int, min_history: int = TRAIN_MIN_HISTORY_WEEKS * WEEK_HOURS) -> int:
    """Hours of history that training + backtest need for ``horizon`` (at most a week).

    The hold-out model is fitted on the hours up to the first backtest origin: ``min_history``
    hours of lags, then its targets — at least ``MIN_TRAIN_TARGET_HOURS + EARLY_STOPPING_HOURS``
    and at least one horizon (the fit's last origin forecasts a full horizon). After that origin
    come the later origins (``(BACKTEST_ORIGINS − 1) × step`` hours) and the last origin's horizon.
    """
    holdout_targets = max(horizon, MIN_TRAIN_TARGET_HOURS + EARLY_STOPPING_HOURS)
    return min_history + holdout_targets + horizon + (BACKTEST_ORIGINS - 1) * BACKTEST_ORIGIN_STEP_HOURS


def hours_read(
    horizon: int,
    history_weeks: int = LAG_WEEKS,
    train_weeks: int = TRAIN_WINDOW_WEEKS,
    protocol: ForecastProtocol = FORECAST,
) -> int:
    """The most hours of series a training run (:func:`ml.forecasting.steps.train_and_backtest`)
    reads: older hours change nothing it computes but the older hourly MASE's scale.

    After the first selection origin: the selection and test windows with their horizons. Before
    it, the further of the hold-out fit's reach (the horizon, ``train_weeks`` of training origins,
    the ``history_weeks`` the first origin's features read) and the baselines' (the same-hour mean's
    weeks, also the daily MASE's scale).
    """
    step = protocol.origin_step
    after = (protocol.selection_origins - 1) * step + horizon + (protocol.test_origins - 1) * step + horizon
    fit = horizon + (train_weeks + history_weeks) * WEEK_HOURS - 2
    baselines = protocol.mean_weeks * WEEK_HOURS - 1
    return after + 1 + max(fit, baselines)


def training_readiness(table: str, history_hours: int, horizon: int) -> Readiness:
    """Whether ``history_hours`` of series (first to last hour) are enough to train for ``horizon``."""
    need = hours_to_train(horizon)
    if history_hours == 0:
        return Readiness(False, f"{table} has no rows yet; training the forecaster needs {need} hours")
    if history_hours < need:
        return Readiness(
            False,
            f"{table} has {history_hours} hours of history; training the forecaster (horizon {horizon} h) "
            f"needs at least {need} ({TRAIN_MIN_HISTORY_WEEKS} weeks of weekly lags, a week of training "
            f"targets, a week for early stopping, {BACKTEST_ORIGINS} backtest origins "
            f"{BACKTEST_ORIGIN_STEP_HOURS} h apart and the horizon)",
        )
    return Readiness(True, f"{history_hours} hours of history (training needs {need})")
