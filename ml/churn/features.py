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
    "sessions_90d",
    "last_gap_days",
)
#: computed from the columns above (:func:`derived_features`): the same in the bench and production
DERIVED_FEATURES = (
    "order_rate_lifetime",
    "expected_orders_missed",
    "frequency_trend",
    "session_trend",
    "recency_over_last_gap",
    "expected_sessions_missed",
    "session_after_last_order",
)
#: the model's numeric inputs: the table's and the derived ones
MODEL_NUMERIC = NUMERIC_FEATURES + DERIVED_FEATURES
CATEGORICAL_FEATURES = ("customer_segment", "customer_country")
#: the table's feature columns (what a feature row / a serving instance carries)
FEATURE_COLUMNS = NUMERIC_FEATURES + CATEGORICAL_FEATURES
#: what :func:`feature_matrix` gives the models
MODEL_COLUMNS = MODEL_NUMERIC + CATEGORICAL_FEATURES
#: columns added to ``ml_churn_features`` by this feature set: a table built by an older SQLX lacks
#: them, and reads them as NULL (the models take missing values) until the Dataform model has them
LATER_COLUMNS = ("sessions_90d", "last_gap_days")
LABEL = "label_churn_30d"
KEY = ("customer_id", "as_of_date")


class FeatureError(ValueError):
    """The feature rows cannot be used (missing columns, nothing labelled, ...)."""


def to_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Normalise dtypes: numeric features as float (NULL → NaN), categoricals as str (NULL → 'unknown')."""
    missing = [c for c in (*KEY, *FEATURE_COLUMNS) if c not in df.columns and c not in LATER_COLUMNS]
    if missing:
        raise FeatureError(f"feature rows lack columns: {missing}")
    out = df.copy()
    for col in LATER_COLUMNS:
        if col not in out.columns:
            out[col] = np.nan
    out["as_of_date"] = pd.to_datetime(out["as_of_date"]).dt.date
    for col in NUMERIC_FEATURES:
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    out = derived_features(out)
    for col in CATEGORICAL_FEATURES:
        out[col] = out[col].astype("object").where(out[col].notna(), "unknown").astype(str)
    if LABEL in out.columns:
        out[LABEL] = pd.to_numeric(out[LABEL], errors="coerce").astype("Float64")
    return out


def derived_features(df: pd.DataFrame) -> pd.DataFrame:
    """Add :data:`DERIVED_FEATURES` (ratios of the table's columns; NaN where undefined).

    * ``order_rate_lifetime`` — completed orders per day since the first order;
    * ``expected_orders_missed`` — recency × that rate: how many orders the customer's own pace
      would have placed since the last one (a regular buyer at recency 40 is not a lapsed one);
    * ``frequency_trend`` — log((orders in the last 30 d + ½) / (mean per 30 d over days 30–90 + ½)):
      a declining purchase pace;
    * ``session_trend`` — the same for website sessions (30 d against days 30–90): declining
      engagement;
    * ``recency_over_last_gap`` — recency / (the gap between the last two orders + 1);
    * ``expected_sessions_missed`` — days since the last website session × the customer's session
      rate over 90 days (days since the first order when they never had a session);
    * ``session_after_last_order`` — 1 when the customer came back to the website after the last
      order (still engaged), 0 when not, NaN without any session.
    """
    out = df.copy()
    tenure = out["tenure_days"].clip(lower=0) + 1.0
    out["order_rate_lifetime"] = out["orders_total"] / tenure
    out["expected_orders_missed"] = out["recency_days"] * out["order_rate_lifetime"]
    earlier_orders = (out["frequency_90d"] - out["frequency_30d"]).clip(lower=0) / 2.0
    out["frequency_trend"] = np.log((out["frequency_30d"] + 0.5) / (earlier_orders + 0.5))
    earlier_sessions = (out["sessions_90d"] - out["sessions_30d"]).clip(lower=0) / 2.0
    out["session_trend"] = np.log((out["sessions_30d"] + 0.5) / (earlier_sessions + 0.5))
    out["recency_over_last_gap"] = out["recency_days"] / (out["last_gap_days"].clip(lower=0) + 1.0)
    session_rate = out["sessions_90d"] / np.minimum(tenure, 90.0)
    out["expected_sessions_missed"] = out["days_since_last_session"].fillna(tenure) * session_rate
    seen = out["days_since_last_session"]
    out["session_after_last_order"] = (seen < out["recency_days"]).astype("float64").where(seen.notna())
    return out


def feature_matrix(df: pd.DataFrame) -> pd.DataFrame:
    """The model input: the table's feature columns and the derived ones, in a fixed order."""
    if any(c not in df.columns for c in DERIVED_FEATURES):
        df = derived_features(df)
    return df.loc[:, list(MODEL_COLUMNS)]


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


# ----------------------------------------------------------------------------- from the warehouse tables
def build_feature_rows(
    orders: pd.DataFrame,
    sessions: pd.DataFrame,
    horizon_days: int = CHURN.label_horizon_days,
    step_days: int = 7,
) -> pd.DataFrame:
    """``ml.ml_churn_features`` rows from completed orders and clickstream sessions (the SQLX's twin).

    ``orders``: one row per completed order (customer_id, order_date, value_usd, segment, country);
    ``sessions``: one row per logged-in session (customer_id, session_date, page_views,
    add_to_carts). as_of_dates are every ``step_days``-th day counted from the Sunday 2000-01-02
    within the observed order history (Sundays at 7), exactly as
    ``dataform/definitions/ml/ml_churn_features.sqlx`` computes them; every feature only reads data
    up to ``as_of_date``, and the label is NULL while its window is not fully observed.
    """
    o = orders.assign(order_date=pd.to_datetime(orders["order_date"]).dt.date)
    s = sessions.assign(session_date=pd.to_datetime(sessions["session_date"]).dt.date)
    first, last = min(o["order_date"]), max(o["order_date"])
    anchor = date(2000, 1, 2)
    as_ofs = [d for d in pd.date_range(first, last).date if (d - anchor).days % step_days == 0]
    o_day = np.array([(d - anchor).days for d in o["order_date"]])
    s_day = np.array([(d - anchor).days for d in s["session_date"]])
    last_day = (last - anchor).days
    out = []
    for as_of in as_ofs:
        t = (as_of - anchor).days
        past = o[o_day <= t]
        age = t - o_day[o_day <= t]
        g = past.assign(age=age, r30=(age < 30).astype(int), r90=(age < 90).astype(int))
        g = g.assign(v90=g["value_usd"] * g["r90"]).groupby("customer_id", sort=True)
        f = pd.DataFrame(
            {
                "recency_days": g["age"].min(),
                "frequency_30d": g["r30"].sum(),
                "frequency_90d": g["r90"].sum(),
                "monetary_90d_usd": g["v90"].sum(),
                "orders_total": g.size(),
                "avg_order_value_usd": g["value_usd"].mean(),
                "tenure_days": g["age"].max(),
                "customer_segment": g["segment"].last(),
                "customer_country": g["country"].last(),
            }
        )
        sp = s[s_day <= t]
        s_age = t - s_day[s_day <= t]
        sg = sp.assign(age=s_age, r30=(s_age < 30).astype(int), r90=(s_age < 90).astype(int))
        sg = sg.assign(pv30=sg["page_views"] * sg["r30"], atc30=sg["add_to_carts"] * sg["r30"])
        sg = sg.groupby("customer_id")
        f["sessions_30d"] = sg["r30"].sum()
        f["sessions_90d"] = sg["r90"].sum()
        f["page_views_30d"] = sg["pv30"].sum()
        f["add_to_cart_30d"] = sg["atc30"].sum()
        f["days_since_last_session"] = sg["age"].min()
        future = o[(o_day > t) & (o_day <= t + horizon_days)]
        bought = set(future["customer_id"])
        observable = t + horizon_days <= last_day
        f["label_churn_30d"] = [(0 if c in bought else 1) if observable else None for c in f.index]
        # the gap between the last two distinct order dates (NULL with a single order date)
        dates = past[["customer_id"]].assign(day=o_day[o_day <= t]).drop_duplicates()
        dates = dates.sort_values(["customer_id", "day"])
        last_two = dates.groupby("customer_id")["day"].nth([-2, -1])
        gaps = dates.loc[last_two.index].groupby("customer_id")["day"].agg(lambda d: d.iloc[-1] - d.iloc[0])
        counts = dates.groupby("customer_id").size()
        f["last_gap_days"] = gaps.where(counts.reindex(gaps.index) > 1)
        f = f.fillna({"sessions_30d": 0, "sessions_90d": 0, "page_views_30d": 0, "add_to_cart_30d": 0})
        out.append(f.assign(as_of_date=as_of).reset_index(names="customer_id"))
    return pd.concat(out, ignore_index=True)
