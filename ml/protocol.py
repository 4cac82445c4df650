"""The evaluation protocol: ONE config read by the production pipelines and by ``bench/bench_ml.py``.

Churn (:class:`ChurnProtocol`): labelled weekly snapshots are cut into three windows in time:

* **train** — snapshots whose 30-day label window closes *before* the first selection snapshot
  (``as_of + horizon < selection_start``: every training label is known when the first selection
  snapshot is taken, so nothing about the selection period leaks into training);
* **selection** — the champion (among the models and the simple baselines) is chosen here, and the
  production gate compares challenger and champion on these rows;
* **test** — later snapshots whose distance from the selection window obeys the same rule; the
  figures reported (registry, bench, README) are the test window's, on all rows and on the
  recent-buyers slice (last order at most ``recent_days`` before the snapshot).

With too little history for all three (a young platform), the test window shrinks first (to
none: the registry then says so), then the selection window (to one snapshot).

Forecasting (:class:`ForecastProtocol`): rolling origins ``origin_step`` hours apart; the test
window is the last ``test_origins`` origins (4 weeks of daily origins, so holiday, release and
outage weeks fall in it), the selection window the ``selection_origins`` origins before it whose
forecast hours all end before the first test origin. Every method (the network and each simple
baseline) forecasts from the same origins; the network is fitted once on the hours up to the
first selection origin. The champion is the method with the lowest Poisson deviance on the
selection window; every figure reported is the test window's. Shorter histories shrink the test
window first, then the selection window (see :func:`forecast_windows`).
"""

from __future__ import annotations

from dataclasses import dataclass

#: days after an as_of_date until its churn label is observed (Dataform's ``churn_horizon_days``)
LABEL_HORIZON_DAYS = 30
WEEK_HOURS = 168


@dataclass(frozen=True)
class ChurnProtocol:
    label_horizon_days: int = LABEL_HORIZON_DAYS
    #: the latest labelled snapshots: the reported (test) window
    test_snapshots: int = 4
    #: snapshots before the test window (and its label gap) on which the champion is chosen
    selection_snapshots: int = 4
    #: the recent-buyers slice: last order at most this many days before the snapshot
    recent_days: int = 30
    #: lift is measured on this top fraction of scores
    lift_fraction: float = 0.1


@dataclass(frozen=True)
class ForecastProtocol:
    horizon: int = WEEK_HOURS
    #: training epochs of the network (``ForecasterConfig.epochs`` and the pipelines' default)
    epochs: int = 20
    origin_step: int = 24
    #: reported window: 4 weeks of daily origins
    test_origins: int = 28
    #: champion-selection window: a week of daily origins before the test window
    selection_origins: int = 7
    #: the fewest origins a training run backtests (the first training's minimum history)
    min_origins: int = 3
    #: prediction intervals scored (central, two-sided)
    intervals: tuple[float, ...] = (0.8, 0.95)
    #: weeks of the plain same-hour mean baseline
    mean_weeks: int = 8
    #: weeks of history the Holt-Winters baseline is fitted on at each origin
    ets_weeks: int = 4


CHURN = ChurnProtocol()
FORECAST = ForecastProtocol()


@dataclass(frozen=True)
class ForecastWindows:
    selection: list[int]
    test: list[int]

    @property
    def first(self) -> int:
        return (self.selection or self.test)[0]

    def describe(self) -> str:
        return f"{len(self.selection)} selection + {len(self.test)} test origins"


def forecast_windows(
    n_hours: int, first_allowed: int, protocol: ForecastProtocol = FORECAST
) -> ForecastWindows:
    """The selection and test origins (indices of the last observed hour) for ``n_hours`` of series.

    ``first_allowed`` is the earliest origin the fitted model allows (its training needs the
    hours before). The last test origin's horizon ends on the last hour; selection origins end
    their horizon before the first test origin. When history is short the test window shrinks
    first (possibly to none), then the selection window; at least ``min_origins`` selection
    origins are required (``ValueError`` otherwise).
    """
    h, step = protocol.horizon, protocol.origin_step
    last = n_hours - 1 - h
    for n_sel in range(protocol.selection_origins, protocol.min_origins - 1, -1):
        for n_test in range(protocol.test_origins, -1, -1):
            test = [last - step * i for i in range(n_test)][::-1]
            sel_last = (test[0] - h) if test else last
            selection = [sel_last - step * i for i in range(n_sel)][::-1]
            if selection[0] >= first_allowed:
                return ForecastWindows(selection, test)
    raise ValueError(
        f"{n_hours} hours of series leave fewer than {protocol.min_origins} backtest origins after the "
        f"first {first_allowed + 1} hours the model needs"
    )
