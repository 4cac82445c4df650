"""Churn plain logic: features → matrix, time split, training, evaluation, scoring, oracle comparison."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from ml.churn.features import (
    MODEL_COLUMNS,
    FeatureError,
    feature_matrix,
    labels,
    recent_buyers,
    scoring_rows,
    time_split,
    to_frame,
)
from ml.churn.model import evaluate, lift_at, predict_churn, reliability_bins, train
from ml.churn.scoring import SCORES_SCHEMA, score_rows
from ml.churn.steps import oracle_comparison
from ml.protocol import CHURN
from tests.ml.synthetic import churn_features

END = date(2026, 4, 26)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return to_frame(churn_features(n_customers=250, n_weeks=14))


def test_to_frame_normalises_nulls_and_rejects_missing_columns(frame: pd.DataFrame) -> None:
    assert frame["days_since_last_session"].isna().any()
    assert frame["days_since_last_session"].dtype == "float64"
    raw = churn_features(n_customers=3, n_weeks=1)
    raw.loc[0, "customer_segment"] = None
    assert to_frame(raw).loc[0, "customer_segment"] == "unknown"
    with pytest.raises(FeatureError, match="recency_days"):
        to_frame(raw.drop(columns=["recency_days"]))
    assert list(feature_matrix(frame).columns) == list(MODEL_COLUMNS)


def test_time_split_is_strict_and_shrinks_the_test_window_first(frame: pd.DataFrame) -> None:
    split = time_split(frame, END)
    # labels are NULL for as_of dates within 30 days of END: the last labelled is the Sunday 5 weeks back
    assert split.last_labelled == date(2026, 3, 22)
    # 9 labelled Sundays (25 Jan .. 22 Mar) hold no test window yet: train, a 35-day gap, selection
    assert split.test.empty
    assert split.split_date == date(2026, 1, 25) and split.selection_start == date(2026, 3, 1)
    assert sorted(set(split.valid["as_of_date"])) == [date(2026, 3, d) for d in (1, 8, 15, 22)]
    # strict: every training label window closes before the first selection snapshot
    assert split.train["as_of_date"].max() + timedelta(days=30) < split.valid["as_of_date"].min()
    assert not split.train["label_churn_30d"].isna().any() and not split.valid["label_churn_30d"].isna().any()
    with pytest.raises(FeatureError, match="no labelled"):
        time_split(frame, date(2025, 1, 1))


def test_time_split_has_three_windows_with_enough_history() -> None:
    long = to_frame(churn_features(n_customers=60, n_weeks=26))
    split = time_split(long, END)
    test_dates = sorted(set(split.test["as_of_date"]))
    sel_dates = sorted(set(split.valid["as_of_date"]))
    assert len(test_dates) == CHURN.test_snapshots and test_dates[-1] == split.last_labelled
    assert len(sel_dates) == CHURN.selection_snapshots
    gap = timedelta(days=CHURN.label_horizon_days)
    assert sel_dates[-1] + gap < test_dates[0]
    assert split.train["as_of_date"].max() + gap < sel_dates[0]
    assert "test 4 snapshots" in split.describe()
    recent = recent_buyers(split.test)
    assert (split.test.loc[recent, "recency_days"] <= CHURN.recent_days).all() and 0 < recent.sum() < len(
        split.test
    )


def test_lift_and_reliability_by_hand() -> None:
    y = np.array([1, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    s = np.array([0.95, 0.1, 0.2, 0.3, 0.1, 0.2, 0.3, 0.1, 0.2, 0.05])
    # top 10 % = the single highest score (a churner); base rate 0.2 → lift 5
    assert lift_at(y, s, 0.1) == pytest.approx(5.0)
    bins = reliability_bins(y, s, n_bins=2)
    assert [b["count"] for b in bins] == [9.0, 1.0]
    assert bins[1]["observed_rate"] == 1.0 and bins[0]["observed_rate"] == pytest.approx(1 / 9)
    metrics = evaluate(y, s)
    assert metrics["brier"] == pytest.approx(np.mean((s - y) ** 2))
    with pytest.raises(ValueError, match="both classes"):
        evaluate(np.zeros(4, dtype=int), np.ones(4))


@pytest.mark.parametrize("algorithm", ["hgb", "logreg"])
def test_models_learn_the_signal(frame: pd.DataFrame, algorithm: str) -> None:
    split = time_split(frame, END)
    model = train(algorithm, feature_matrix(split.train), labels(split.train))
    metrics = evaluate(labels(split.valid), predict_churn(model, feature_matrix(split.valid)))
    assert metrics["roc_auc"] > 0.75
    assert metrics["lift_at_10pct"] > 2.0


def test_scoring_rows_and_scores_table(frame: pd.DataFrame) -> None:
    rows = scoring_rows(frame, END, active_within_days=30)
    assert set(rows["as_of_date"]) == {END}
    assert (rows["recency_days"] <= 30).all() and 0 < len(rows) < 250
    split = time_split(frame, END)
    model = train("logreg", feature_matrix(split.train), labels(split.train))
    table = score_rows(model, rows, "churn_classifier", "3", datetime(2026, 4, 27, tzinfo=UTC))
    assert table.schema == SCORES_SCHEMA and table.num_rows == len(rows)
    scores = table.column("score").to_numpy()
    assert ((scores >= 0) & (scores <= 1)).all()
    assert set(table.column("model_version").to_pylist()) == {"3"}


def test_oracle_comparison_joins_on_customer_and_date(frame: pd.DataFrame) -> None:
    valid = time_split(frame, END).valid
    y = labels(valid)
    oracle = valid[["customer_id", "as_of_date"]].assign(p_churn=y * 0.8 + 0.1)  # a perfect ranker
    result = oracle_comparison(valid, np.where(y == 1, 0.6, 0.4)[::-1], oracle)
    assert result["oracle_auc"] == pytest.approx(1.0)
    assert result["auc_fraction_of_oracle"] == pytest.approx(result["model_auc"])
    assert result["rows"] == len(valid)


def test_feature_rows_from_orders_and_sessions_follow_the_sqlx_definitions() -> None:
    from ml.churn.features import build_feature_rows

    d = date(2026, 1, 1)  # a Thursday; Sundays: Jan 4, 11, 18, ...
    orders = pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "B", "A", "B"],
            "order_date": [
                d,
                d + timedelta(days=4),
                d + timedelta(days=4),
                d + timedelta(days=2),
                d + timedelta(days=60),
                d + timedelta(days=90),
            ],
            "value_usd": [10.0, 20.0, 30.0, 5.0, 7.0, 1.0],
            "segment": "consumer",
            "country": "US",
        }
    )
    sessions = pd.DataFrame(
        {"customer_id": ["A", "A"], "session_date": [d + timedelta(days=1), d + timedelta(days=9)],
         "page_views": [2, 1], "add_to_carts": [1, 0]}
    )  # fmt: skip
    rows = build_feature_rows(orders, sessions).set_index(["customer_id", "as_of_date"])
    a = rows.loc[("A", date(2026, 1, 11))]
    assert a["recency_days"] == 6 and a["orders_total"] == 3 and a["frequency_30d"] == 3
    assert a["last_gap_days"] == 4  # two distinct order dates: Jan 1 and Jan 5
    assert a["sessions_30d"] == 2 and a["sessions_90d"] == 2 and a["days_since_last_session"] == 1
    assert a["page_views_30d"] == 3 and a["add_to_cart_30d"] == 1
    assert a["label_churn_30d"] == 1  # next order on Mar 2, after the 30-day window
    assert rows.loc[("A", date(2026, 2, 1)), "label_churn_30d"] == 0  # Mar 2 is within 30 days of Feb 1
    b = rows.loc[("B", date(2026, 1, 4))]
    assert np.isnan(b["last_gap_days"]) and b["sessions_90d"] == 0 and np.isnan(b["days_since_last_session"])
    # the last as_of_dates' windows are not observed yet: NULL labels
    assert rows.loc[("A", date(2026, 3, 29)), "label_churn_30d"] is None
    frame = to_frame(rows.reset_index())
    m = feature_matrix(frame)
    assert list(m.columns) == list(MODEL_COLUMNS)
    first = frame[(frame.customer_id == "A") & (frame.as_of_date == date(2026, 1, 11))].iloc[0]
    assert first["expected_orders_missed"] == pytest.approx(6 * 3 / 11)  # recency × orders / (tenure + 1)
    assert first["session_after_last_order"] == 1.0


def test_a_table_without_the_newer_columns_still_reads() -> None:
    raw = churn_features(n_customers=3, n_weeks=1).drop(columns=["sessions_90d", "last_gap_days"])
    frame = to_frame(raw)
    assert frame["sessions_90d"].isna().all() and frame["session_trend"].isna().all()
    with pytest.raises(FeatureError):
        to_frame(raw.drop(columns=["recency_days"]))
