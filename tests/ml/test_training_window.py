"""The forecaster's bounded windows: a fit trains from the last ``train_weeks`` weeks of origins and
reads only the hours their features need (its cost stops growing with the history), and a forecast
reads only the model's ``history_hours``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ml.forecasting import model as model_module
from ml.forecasting.model import Forecaster, ForecasterConfig, training_origins
from ml.forecasting.readiness import WEEK_HOURS
from ml.forecasting.series import to_matrix
from tests.ml.synthetic import hourly_series


def _train_rows(config: ForecasterConfig, origins: np.ndarray, n_hours: int, n_series: int) -> int:
    val_start = n_hours - config.val_hours
    per_origin = np.clip(np.minimum(origins + config.horizon, val_start - 1) - origins, 0, config.horizon)
    return int(per_origin.sum()) * n_series


def test_training_origins_lie_in_the_window_and_fill_the_row_budget() -> None:
    config = ForecasterConfig()  # the defaults: horizon 168, the replay's hundreds of series
    assert config.train_weeks is not None
    n_series = 600
    rows = {}
    for days in (40, 90, 365):
        n_hours = 24 * days
        origins = training_origins(config, n_hours, n_series)
        last = n_hours - 1 - config.horizon
        assert origins[-1] == last and np.all(np.diff(origins) > 0)
        assert origins[0] >= config.min_history - 1
        assert last - origins[0] < config.train_weeks * WEEK_HOURS, days
        rows[days] = _train_rows(config, origins, n_hours, n_series)
        assert rows[days] <= config.max_train_rows
    # once the window is full, a longer history does not give the fit more (or fewer) rows
    assert rows[90] == rows[365]
    assert rows[40] >= 0.9 * rows[90]
    # few series: every origin_stride-th origin of the window
    few = training_origins(config, 24 * 90, 2)
    assert np.all(np.diff(few) == config.origin_stride)


def test_a_fit_reads_only_its_training_window(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, np.ndarray]] = []
    design = model_module.design

    def spy(values: np.ndarray, hours: np.ndarray, origins: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        seen.append((len(values), np.asarray(origins).copy()))
        return design(values, hours, origins, *args, **kwargs)

    monkeypatch.setattr(model_module, "design", spy)
    config = ForecasterConfig(horizon=24, epochs=1)
    assert config.train_weeks is not None
    window = config.train_weeks * WEEK_HOURS
    # two series never reach the row budget: the window alone bounds the fit once the history fills it
    full = (config.history_hours + window + config.horizon) // 24 + 1
    for days in (full, 90):
        m = to_matrix(hourly_series(n_hours=24 * days)[0])
        Forecaster(ForecasterConfig(**{**config.__dict__, "keys": []})).fit(m.values, m.hours, m.keys)
    (hours_full, origins_full), (hours_90, origins_90) = seen
    # 90 days: the fit reads the window's origins, the hours their features need before, the targets after
    assert hours_90 <= config.history_hours + window + config.horizon < 24 * 90
    assert origins_90[-1] - origins_90[0] < window
    assert origins_90[0] >= config.history_hours - 1  # every lag of the first origin is in what it reads
    # the same training rows and hours read from 90 days of history as from the window's own length
    np.testing.assert_array_equal(origins_full, origins_90)
    assert hours_full == hours_90 and full < 90


def test_a_forecast_reads_only_the_models_history_hours() -> None:
    obs, _ = hourly_series(n_hours=24 * 7 * 9)
    m = to_matrix(obs)
    model = Forecaster(ForecasterConfig(horizon=24, epochs=1))
    model.fit(m.values, m.hours, m.keys)
    keep = model.config.history_hours
    assert keep == WEEK_HOURS * 6  # the weekly lags' 6 weeks; the profile's 4 and the level's 2 are within
    full = model.predict(m.values, m.hours, 24)
    np.testing.assert_array_equal(full, model.predict(m.values[-keep:], m.hours[-keep:], 24))
    # older hours change nothing, however different they are
    changed = m.values.copy()
    changed[: len(changed) - keep] *= 5
    np.testing.assert_array_equal(full, model.predict(changed, m.hours, 24))
    # ...while the hours it reads do
    changed[-keep] += 50
    assert not np.array_equal(full, model.predict(changed, m.hours, 24))
