"""From ``ml.ml_churn_features`` rows to model inputs, and the time-based train/validation split.

The feature table has one row per (customer_id, as_of_date); every feature only uses data up to
``as_of_date`` and ``label_churn_30d`` is NULL while its 30-day window is not fully observed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from ml.churn.readiness import LABEL_HORIZON_DAYS, MIN_LABEL_CLASSES

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
    train: pd.DataFrame
    valid: pd.DataFrame
    #: last as_of_date in train; validation as_of_dates are after it
    split_date: date
    last_labelled: date


def time_split(df: pd.DataFrame, cutoff: date, horizon_days: int = LABEL_HORIZON_DAYS) -> TimeSplit:
    """Split labelled rows with ``as_of_date <= cutoff`` by time.

    ``last_labelled`` is the latest labelled as_of_date ≤ cutoff; training takes as_of_dates
    ≤ ``last_labelled − horizon`` (so every training label is known before any validation
    label window closes) and validation the labelled dates after that.
    """
    rows = df[(df["as_of_date"] <= cutoff) & df[LABEL].notna()]
    if rows.empty:
        raise FeatureError(f"no labelled feature rows on or before {cutoff}")
    last_labelled = max(rows["as_of_date"])
    split_date = last_labelled - timedelta(days=horizon_days)
    train = rows[rows["as_of_date"] <= split_date]
    valid = rows[rows["as_of_date"] > split_date]
    if train.empty or valid.empty:
        raise FeatureError(
            f"time split at {split_date} leaves train={len(train)} valid={len(valid)} rows; need more history"
        )
    for name, part in (("train", train), ("validation", valid)):
        if part[LABEL].nunique() < MIN_LABEL_CLASSES:
            raise FeatureError(f"{name} rows ({len(part)}) have a single label class")
    return TimeSplit(train.reset_index(drop=True), valid.reset_index(drop=True), split_date, last_labelled)


def scoring_rows(df: pd.DataFrame, cutoff: date, active_within_days: int = 365) -> pd.DataFrame:
    """Rows to score: the latest as_of_date ≤ cutoff, customers who ordered within ``active_within_days``."""
    rows = df[df["as_of_date"] <= cutoff]
    if rows.empty:
        raise FeatureError(f"no feature rows on or before {cutoff}")
    latest = max(rows["as_of_date"])
    latest_rows = rows[(rows["as_of_date"] == latest) & (rows["recency_days"] <= active_within_days)]
    return latest_rows.reset_index(drop=True)
