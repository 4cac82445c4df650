"""When the churn model can be trained: the one place these minimums are defined.

``label_churn_30d`` of an as_of_date is only known ``LABEL_HORIZON_DAYS`` days later (NULL until
then), and the time split (:func:`ml.churn.features.time_split`) trains on as_of_dates at least
that many days before the last labelled one and validates on the later ones. So training needs
labelled as_of_dates spanning at least ``LABEL_HORIZON_DAYS`` days, and both label classes
(``MIN_LABEL_CLASSES``) in train and in validation (ROC AUC, the gate's metric, needs both).
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from ml.readiness import Readiness

#: days after an as_of_date until its churn label is observed (Dataform's ``churn_horizon_days``)
LABEL_HORIZON_DAYS = 30
#: label classes needed in train and in validation
MIN_LABEL_CLASSES = 2


def training_readiness(frame: pd.DataFrame, cutoff: date, table: str) -> Readiness:
    """Whether the feature rows (:func:`ml.churn.features.to_frame` dtypes) allow the time split."""
    from ml.churn.features import LABEL, FeatureError, time_split

    rows = frame[frame["as_of_date"] <= cutoff] if len(frame) else frame
    if rows.empty:
        return Readiness(False, f"{table} has no rows on or before {cutoff}")
    labelled = rows[rows[LABEL].notna()]
    if labelled.empty:
        first = min(rows["as_of_date"])
        return Readiness(
            False,
            f"no labelled churn rows yet: labels need {LABEL_HORIZON_DAYS} days after an as_of_date "
            f"(first as_of_date {first}, its label is known from {first + timedelta(days=LABEL_HORIZON_DAYS)})",
        )
    first, last = min(labelled["as_of_date"]), max(labelled["as_of_date"])
    if (last - first).days < LABEL_HORIZON_DAYS:
        return Readiness(
            False,
            f"labelled as_of_dates span {first}..{last} ({(last - first).days} days); the time split needs "
            f"them at least {LABEL_HORIZON_DAYS} days apart (train ≤ last − {LABEL_HORIZON_DAYS} d, "
            "validate after)",
        )
    try:
        split = time_split(rows, cutoff, LABEL_HORIZON_DAYS)
    except FeatureError as exc:
        return Readiness(
            False,
            f"churn training data not usable yet: {exc} "
            f"(train and validation each need {MIN_LABEL_CLASSES} label classes)",
        )
    return Readiness(
        True,
        f"{len(split.train)} train rows up to {split.split_date}, {len(split.valid)} validation rows "
        f"up to {split.last_labelled}",
    )
