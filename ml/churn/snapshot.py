"""Snapshot the churn feature rows for a pipeline run (kept free of scikit-learn imports: a fast step)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ml.registry.base import Lineage, table_fingerprint
from rillflow.warehouse import Warehouse, get_warehouse

FEATURES_TABLE = "ml.ml_churn_features"


def load_features(cutoff: date, out_path: Path, warehouse: Warehouse | None = None) -> dict[str, Any]:
    """Read the feature rows with ``as_of_date <= cutoff`` into Parquet; return the lineage snapshot."""
    table = (warehouse or get_warehouse()).query(
        f"SELECT * FROM {FEATURES_TABLE} WHERE as_of_date <= DATE '{cutoff.isoformat()}' "
        "ORDER BY as_of_date, customer_id"
    )
    if table.num_rows == 0:
        raise ValueError(f"{FEATURES_TABLE} has no rows on or before {cutoff}")
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out_path)
    return Lineage(FEATURES_TABLE, cutoff.isoformat(), table.num_rows, table_fingerprint(table)).to_dict()
