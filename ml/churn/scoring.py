"""Batch scoring: churn probabilities for the latest as_of_date, shaped as ``ml.ml_churn_scores``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from ml.churn.features import feature_matrix
from ml.churn.model import predict_churn

SCORES_TABLE = "ml_churn_scores"
SCORES_KEY = ("customer_id", "as_of_date")
SCORES_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("as_of_date", pa.date32()),
        ("score", pa.float64()),
        ("model_name", pa.string()),
        ("model_version", pa.string()),
        ("scored_at", pa.timestamp("us", tz="UTC")),
    ]
)


def score_rows(
    model: Any, rows: pd.DataFrame, model_name: str, model_version: str, scored_at: datetime | None = None
) -> pa.Table:
    """One score row per feature row (``rows`` from :func:`ml.churn.features.scoring_rows`)."""
    scored_at = scored_at or datetime.now(UTC)
    score: Any = predict_churn(model, feature_matrix(rows)) if len(rows) else []
    n = len(rows)
    return pa.table(
        {
            "customer_id": pa.array(rows["customer_id"].astype(str).tolist(), pa.string()),
            "as_of_date": pa.array(list(rows["as_of_date"]), pa.date32()),
            "score": pa.array(score, pa.float64()),
            "model_name": pa.array([model_name] * n, pa.string()),
            "model_version": pa.array([str(model_version)] * n, pa.string()),
            "scored_at": pa.array([scored_at] * n, pa.timestamp("us", tz="UTC")),
        },
        schema=SCORES_SCHEMA,
    )
