"""Readiness gating: the minimums match what the models need, and missing/short data is reported, not raised."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ml.churn.features import FEATURE_COLUMNS, KEY, LABEL, time_split, to_frame
from ml.churn.readiness import (
    LABEL_HORIZON_DAYS,
    MIN_LABELLED_SPAN_DAYS,
    first_training_day,
    training_readiness,
)
from ml.churn.snapshot import FEATURES_SCHEMA, FEATURES_TABLE, load_features
from ml.forecasting.model import ForecasterConfig
from ml.forecasting.readiness import PREDICT_MIN_HOURS, hours_to_train
from ml.forecasting.readiness import training_readiness as series_readiness
from ml.forecasting.series import to_matrix
from ml.forecasting.snapshot import SERIES_SCHEMA, SERIES_TABLE, load_series
from ml.forecasting.steps import predict_step, train_and_backtest
from ml.readiness import is_missing_table, training_decision
from rillflow.warehouse import get_warehouse
from tests.ml.synthetic import churn_features, hourly_series

END = date(2026, 4, 26)


def test_training_decision_bootstraps_and_honours_readiness() -> None:
    ready, short = {"ready": True, "reason": "ok"}, {"ready": False, "reason": "26 hours of history"}
    assert training_decision(True, True, ready).train
    assert training_decision(False, False, ready).reason == "bootstrap: no champion yet"
    kept = training_decision(False, True, ready)
    assert not kept.train and "retrain=false" in kept.reason
    for retrain, champion in ((True, True), (True, False), (False, False)):
        decision = training_decision(retrain, champion, short)
        assert not decision.train and decision.reason == "data not ready: 26 hours of history"


def test_missing_table_detection() -> None:
    with pytest.raises(duckdb.CatalogException) as caught:
        get_warehouse().query(f"SELECT * FROM {SERIES_TABLE}")
    assert is_missing_table(caught.value)
    assert not is_missing_table(ValueError("does not exist"))


def test_forecast_minimum_gives_every_fit_training_rows() -> None:
    horizon = 24
    config = ForecasterConfig(horizon=horizon, epochs=1)
    # hold-out fit: 2 weeks of lags + a week of training targets + a week of early stopping
    assert hours_to_train(horizon) == config.min_history + 168 + config.val_hours + horizon + 48
    enough, _ = hourly_series(n_hours=hours_to_train(horizon))
    _, metrics = train_and_backtest(to_matrix(enough), config)
    assert all(np.isfinite(v) for v in metrics.values()), metrics
    assert metrics["train_rows"] > 0 and metrics["backtest_smape"] > 0
    # the model's hard limit (no training rows left at all) lies below the readiness minimum
    hard_limit = config.min_history + 2 * horizon + 48
    short, _ = hourly_series(n_hours=hard_limit - 1)
    with pytest.raises(ValueError, match="backtest origins"):
        train_and_backtest(to_matrix(short), ForecasterConfig(horizon=horizon, epochs=1))
    assert series_readiness(SERIES_TABLE, hours_to_train(horizon), horizon).ready
    assert not series_readiness(SERIES_TABLE, hours_to_train(horizon) - 1, horizon).ready
    assert hours_to_train(168) == 336 + 336 + 168 + 48  # 888 h = 37 days at the default horizon
    reason = series_readiness(SERIES_TABLE, 26, 168).reason
    assert reason.startswith(f"{SERIES_TABLE} has 26 hours of history") and "needs at least 888" in reason


def test_series_snapshot_of_a_missing_table_is_empty_and_not_ready(tmp_path: Path) -> None:
    out = tmp_path / "series.parquet"
    lineage = load_series(END, out, horizon=24)
    assert lineage["ready"] is False and "does not exist yet" in lineage["reason"]
    assert lineage["row_count"] == 0 and lineage["history_hours"] == 0
    assert pq.read_schema(out).equals(SERIES_SCHEMA)
    assert predict_step(out, 24)["skipped"] is True


def test_series_snapshot_reports_short_history(tmp_path: Path) -> None:
    series, _ = hourly_series(n_hours=26)
    get_warehouse().write("ml", "ml_app_activity_series", pa.Table.from_pandas(series), mode="replace")
    lineage = load_series(date(2026, 1, 6), tmp_path / "s.parquet", horizon=168)
    assert lineage["ready"] is False and lineage["history_hours"] == 26 and lineage["row_count"] == 52
    assert "has 26 hours of history" in lineage["reason"]
    assert pq.read_table(tmp_path / "s.parquet").num_rows == 52  # kept: a champion could still use them
    assert PREDICT_MIN_HOURS > 26


def test_features_schema_matches_the_model_inputs(tmp_path: Path) -> None:
    assert FEATURES_SCHEMA.names == [*KEY, *FEATURE_COLUMNS, LABEL]
    out = tmp_path / "features.parquet"
    lineage = load_features(END, out)
    assert (
        lineage["ready"] is False
        and lineage["reason"] == f"{FEATURES_TABLE} does not exist yet (no churn features built)"
    )
    assert pq.read_schema(out).equals(FEATURES_SCHEMA)
    assert to_frame(pq.read_table(out).to_pandas()).empty


@pytest.mark.parametrize(
    ("n_weeks", "expected"),
    [
        (4, "no labelled churn rows yet: labels need 30 days after an as_of_date"),
        (6, "labelled as_of_dates span 2026-03-22..2026-03-22 (0 days)"),
        (10, "labelled as_of_dates span 2026-02-22..2026-03-22 (28 days)"),
        (11, None),
    ],
)
def test_churn_readiness_reasons(n_weeks: int, expected: str | None) -> None:
    frame = to_frame(churn_features(n_customers=60, n_weeks=n_weeks))
    readiness = training_readiness(frame, END, FEATURES_TABLE)
    if expected is None:
        assert readiness.ready, readiness.reason
        split = time_split(frame, END)
        # strict: the training snapshot's label window closes before the selection snapshot
        assert (split.selection_start - split.split_date).days == MIN_LABELLED_SPAN_DAYS > LABEL_HORIZON_DAYS
    else:
        assert not readiness.ready and readiness.reason.startswith(expected), readiness.reason
    empty = training_readiness(frame, date(2020, 1, 1), FEATURES_TABLE)
    assert not empty.ready and empty.reason == f"{FEATURES_TABLE} has no rows on or before 2020-01-01"


def test_churn_readiness_needs_both_classes() -> None:
    frame = to_frame(churn_features(n_customers=60, n_weeks=11))
    frame.loc[frame[LABEL].notna(), LABEL] = 0
    readiness = training_readiness(frame, END, FEATURES_TABLE)
    assert not readiness.ready and "single label class" in readiness.reason


def test_first_churn_training_day_follows_the_strict_split() -> None:
    # Thursday 1 January: first Sunday 4 Jan, first selection snapshot 35 days later (8 Feb), its label
    # known 30 days after that: 10 March, the 69th day of the replay
    assert first_training_day(date(2026, 1, 1)) == date(2026, 3, 10)
    assert first_training_day(date(2026, 1, 4)) == date(2026, 1, 4) + timedelta(days=65)
