"""From ``ml.ml_churn_features`` rows to model inputs, and the time-based train/validation split.

The feature table has one row per (customer_id, as_of_date); every feature only uses data up to
``as_of_date`` and ``label_churn_30d`` is NULL while its 30-day window is not fully observed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ml.churn.readiness import MIN_LABEL_CLASSES
from ml.protocol import CHURN, ChurnProtocol

NUMERIC_FEATURES = (
    "recency_days",
    "frequency_30d",
    "frequency_90d",
    "monetary_90d_usd",
    "orders_total",
    "avg_order_value_usd",
    "tenure_days",
    "sessions_30d",
    "page_views_30d",
    "add_to_cart_30d",
    "days_since_last_session",
)
CATEGORICAL_FEATURES = ("customer_segment", "customer_country")
FEATURE_COLUMNS = NUMERIC_FEATURES + CATEGORICAL_FEATURES
LABEL = "label_churn_30d"
KEY = ("customer_id", "as_of_date")


class FeatureError(ValueError):
    """The feature rows cannot be used (missing columns, nothing labelled, ...)."""


def to_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Normalise dtypes: numeric features as float (NULL → NaN), categoricals as str (NULL → 'unknown')."""
    missing = [c for c in (*KEY, *FEATURE_COLUMNS) if c not in df.columns]
    if missing:
        raise FeatureError(f"feature rows lack columns: {missing}")
    out = df.copy()
    out["as_of_date"] = pd.to_datetime(out["as_of_date"]).dt.date
    for col in NUMERIC_FEATURES:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    for col in CATEGORICAL_FEATURES:
        out[col] = out[col].astype("object").where(out[col].notna(), "unknown").astype(str)
    if LABEL in out.columns:
        out[LABEL] = pd.to_numeric(out[LABEL], errors="coerce").astype("Float64")
    return out


def feature_matrix(df: pd.DataFrame) -> pd.DataFrame:
    """The model input: exactly the feature columns, in a fixed order."""
    return df.loc[:, list(FEATURE_COLUMNS)]


def labels(df: pd.DataFrame) -> np.ndarray:
    if df[LABEL].isna().any():
        raise FeatureError("unlabelled rows passed where labels are needed")
    return df[LABEL].astype("int64").to_numpy()


@dataclass(frozen=True)
class TimeSplit:
    """The protocol's three windows (:class:`ml.protocol.ChurnProtocol`), each a set of snapshots."""

    train: pd.DataFrame
    #: the selection window: the champion is chosen (and the gate decides) on these rows
    valid: pd.DataFrame
    #: the reported window (empty while the history is too short for one)
    test: pd.DataFrame
    #: last as_of_date in train: its label window closes before ``selection_start``
    split_date: date
    selection_start: date
    last_labelled: date

    @property
    def selection(self) -> pd.DataFrame:
        return self.valid

    def describe(self) -> str:
        def span(part: pd.DataFrame) -> str:
            dates = sorted(set(part["as_of_date"]))
            return f"{len(dates)} snapshots {dates[0]}..{dates[-1]}" if dates else "none yet"

        return f"train {span(self.train)}; selection {span(self.valid)}; test {span(self.test)}"


def _windows(dates: list[date], protocol: ChurnProtocol) -> tuple[list[date], list[date], list[date]] | None:
    """(train, selection, test) as_of_dates: the test window shrinks first, then the selection window."""
    gap = timedelta(days=protocol.label_horizon_days)
    for n_sel in range(protocol.selection_snapshots, 0, -1):
        for n_test in range(protocol.test_snapshots, -1, -1):
            test = dates[len(dates) - n_test :] if n_test else []
            before_test = [d for d in dates if not test or d + gap < test[0]]
            if len(before_test) < n_sel:
                continue
            selection = before_test[-n_sel:]
            train = [d for d in before_test if d + gap < selection[0]]
            if train:
                return train, selection, test
    return None


def time_split(df: pd.DataFrame, cutoff: date, protocol: ChurnProtocol | int | None = None) -> TimeSplit:
    """Split labelled rows with ``as_of_date <= cutoff`` into train / selection / test snapshots.

    Strict in time (:mod:`ml.protocol`): a training snapshot's label window closes before the first
    selection snapshot (``as_of + horizon < selection_start``), and a selection snapshot's before the
    first test snapshot. With too little history the test window shrinks (to none), then the
    selection window (to one snapshot). ``protocol`` may be a label horizon in days (the earlier
    signature).
    """
    if protocol is None:
        protocol = CHURN
    elif isinstance(protocol, int):
        protocol = replace(CHURN, label_horizon_days=protocol)
    rows = df[(df["as_of_date"] <= cutoff) & df[LABEL].notna()]
    if rows.empty:
        raise FeatureError(f"no labelled feature rows on or before {cutoff}")
    dates = sorted(set(rows["as_of_date"]))
    windows = _windows(dates, protocol)
    if windows is None:
        raise FeatureError(
            f"labelled snapshots {dates[0]}..{dates[-1]} leave no training snapshot whose "
            f"{protocol.label_horizon_days}-day label window closes before a later selection snapshot; "
            "need more history"
        )
    train_d, sel_d, test_d = windows
    train = rows[rows["as_of_date"].isin(train_d)]
    valid = rows[rows["as_of_date"].isin(sel_d)]
    test = rows[rows["as_of_date"].isin(test_d)]
    for name, part in (("train", train), ("selection", valid)):
        if part[LABEL].nunique() < MIN_LABEL_CLASSES:
            raise FeatureError(f"{name} rows ({len(part)}) have a single label class")
    if len(test) and test[LABEL].nunique() < MIN_LABEL_CLASSES:
        test = test.iloc[:0]
    return TimeSplit(
        train.reset_index(drop=True),
        valid.reset_index(drop=True),
        test.reset_index(drop=True),
        max(train_d),
        min(sel_d),
        dates[-1],
    )


def recent_buyers(df: pd.DataFrame, protocol: ChurnProtocol = CHURN) -> pd.Series:
    """The recent-buyers slice: rows whose last order is at most ``recent_days`` before the snapshot."""
    return df["recency_days"] <= protocol.recent_days


def scoring_rows(df: pd.DataFrame, cutoff: date, active_within_days: int = 365) -> pd.DataFrame:
    """Rows to score: the latest as_of_date ≤ cutoff, customers who ordered within ``active_within_days``."""
    rows = df[df["as_of_date"] <= cutoff]
    if rows.empty:
        raise FeatureError(f"no feature rows on or before {cutoff}")
    latest = max(rows["as_of_date"])
    latest_rows = rows[(rows["as_of_date"] == latest) & (rows["recency_days"] <= active_within_days)]
    return latest_rows.reset_index(drop=True)
