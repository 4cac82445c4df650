"""When the churn model can be trained: the one place these minimums are defined.

``label_churn_30d`` of an as_of_date is only known ``LABEL_HORIZON_DAYS`` days later (NULL until
then), and the strict time split (:func:`ml.churn.features.time_split`, :mod:`ml.protocol`)
trains on snapshots whose label window closes before the first selection snapshot. So training
needs labelled weekly snapshots spanning more than ``LABEL_HORIZON_DAYS`` days
(:data:`MIN_LABELLED_SPAN_DAYS`), and both label classes (``MIN_LABEL_CLASSES``) in train and in
selection (ROC AUC, the gate's metric, needs both). The test window comes later, as history grows.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from ml.protocol import LABEL_HORIZON_DAYS
from ml.readiness import Readiness

__all__ = [
    "LABEL_HORIZON_DAYS",
    "MIN_LABELLED_SPAN_DAYS",
    "MIN_LABEL_CLASSES",
    "first_training_day",
    "training_readiness",
]

#: the strict split needs a training snapshot whose label window closes before a selection
#: snapshot: weekly labelled snapshots spanning MORE than the label horizon (35 days at 30)
MIN_LABELLED_SPAN_DAYS = 7 * (LABEL_HORIZON_DAYS // 7 + 1)
#: label classes needed in train and in validation
MIN_LABEL_CLASSES = 2


def first_training_day(first_day: date) -> date:
    """The first day the churn model can train when weekly (Sunday) snapshots start at ``first_day``.

    The first Sunday, plus :data:`MIN_LABELLED_SPAN_DAYS` to the first selection snapshot, plus
    ``LABEL_HORIZON_DAYS`` until that snapshot's label is known (2026-03-10 for a replay starting on
    Thursday 1 January: its 69th day).
    """
    first_sunday = first_day + timedelta(days=(6 - first_day.weekday()) % 7)
    return first_sunday + timedelta(days=MIN_LABELLED_SPAN_DAYS + LABEL_HORIZON_DAYS)


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
    if (last - first).days <= LABEL_HORIZON_DAYS:
        return Readiness(
            False,
            f"labelled as_of_dates span {first}..{last} ({(last - first).days} days); the strict time split "
            f"needs them more than {LABEL_HORIZON_DAYS} days apart (a training snapshot's label window "
            "closes before the first selection snapshot)",
        )
    try:
        split = time_split(rows, cutoff)
    except FeatureError as exc:
        return Readiness(
            False,
            f"churn training data not usable yet: {exc} "
            f"(train and validation each need {MIN_LABEL_CLASSES} label classes)",
        )
    return Readiness(
        True,
        f"{len(split.train)} train rows up to {split.split_date}, {len(split.valid)} selection rows from "
        f"{split.selection_start}, {len(split.test)} test rows up to {split.last_labelled}",
    )
