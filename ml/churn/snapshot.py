"""Snapshot the churn feature rows for a pipeline run (kept free of scikit-learn imports: a fast step).

A missing or empty table is not an error: the step writes an empty, schema-correct Parquet file
and reports ``ready: false`` with the reason (a fresh platform has no features yet). Rows that
cannot train a model yet (no labels, too short a labelled span) are reported the same way but
still written: an existing champion can score them.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ml.churn.features import to_frame
from ml.churn.readiness import training_readiness
from ml.readiness import Readiness, is_missing_table, snapshot_lineage
from ml.registry.base import Lineage, table_fingerprint
from rillflow.warehouse import Warehouse, get_warehouse

FEATURES_TABLE = "ml.ml_churn_features"
#: the table's columns and types (dataform/definitions/ml/ml_churn_features.sqlx)
FEATURES_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("as_of_date", pa.date32()),
        ("recency_days", pa.int64()),
        ("frequency_30d", pa.int64()),
        ("frequency_90d", pa.int64()),
        ("monetary_90d_usd", pa.float64()),
        ("orders_total", pa.int64()),
        ("avg_order_value_usd", pa.float64()),
        ("tenure_days", pa.int64()),
        ("sessions_30d", pa.int64()),
        ("page_views_30d", pa.int64()),
        ("add_to_cart_30d", pa.int64()),
        ("days_since_last_session", pa.int64()),
        ("sessions_90d", pa.int64()),
        ("last_gap_days", pa.int64()),
        ("customer_segment", pa.string()),
        ("customer_country", pa.string()),
        ("label_churn_30d", pa.int64()),
    ]
)


def load_features(cutoff: date, out_path: Path, warehouse: Warehouse | None = None) -> dict[str, Any]:
    """Read the feature rows with ``as_of_date <= cutoff`` into Parquet.

    Returns the lineage plus ``ready`` (the rows allow training) and ``reason``.
    """
    try:
        table = (warehouse or get_warehouse()).query(
            f"SELECT * FROM {FEATURES_TABLE} WHERE as_of_date <= DATE '{cutoff.isoformat()}' "
            "ORDER BY as_of_date, customer_id"
        )
    except Exception as exc:
        if not is_missing_table(exc):
            raise
        table = FEATURES_SCHEMA.empty_table()
        readiness = Readiness(False, f"{FEATURES_TABLE} does not exist yet (no churn features built)")
    else:
        readiness = training_readiness(to_frame(table.to_pandas()), cutoff, FEATURES_TABLE)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out_path)
    lineage = Lineage(FEATURES_TABLE, cutoff.isoformat(), table.num_rows, table_fingerprint(table))
    return snapshot_lineage(lineage, readiness)
