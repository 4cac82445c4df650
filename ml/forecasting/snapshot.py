"""Snapshot the hourly series for a pipeline run (kept free of torch imports: a fast step)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ml.registry.base import Lineage, table_fingerprint
from rillflow.warehouse import Warehouse, get_warehouse

SERIES_TABLE = "ml.ml_app_activity_series"


def load_series(as_of: date, out_path: Path, warehouse: Warehouse | None = None) -> dict[str, Any]:
    """Snapshot the hourly series up to the end of ``as_of`` (UTC) into Parquet; return the lineage."""
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC) + timedelta(days=1)
    table = (warehouse or get_warehouse()).query(
        f"SELECT ts_hour, country, platform, event_count FROM {SERIES_TABLE} "
        f"WHERE ts_hour < TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}+00' ORDER BY ts_hour, country, platform"
    )
    if table.num_rows == 0:
        raise ValueError(f"{SERIES_TABLE} has no rows before {end.isoformat()}")
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out_path)
    return Lineage(SERIES_TABLE, as_of.isoformat(), table.num_rows, table_fingerprint(table)).to_dict()
