"""Snapshot the hourly series for a pipeline run (kept free of torch imports: a fast step).

Only the last hours training can read are snapshotted (:func:`ml.forecasting.readiness.hours_read`,
~138 days at the default horizon). A missing or empty table is not an error: the step writes an empty, schema-correct Parquet file
and reports ``ready: false`` with the reason (a fresh platform has no history yet). Too short a
history is reported the same way; the rows are still written, so that an existing champion can
forecast from them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ml.forecasting.readiness import WEEK_HOURS, hours_read, training_readiness
from ml.readiness import Readiness, is_missing_table, snapshot_lineage
from ml.registry.base import Lineage, table_fingerprint
from rillflow.warehouse import Warehouse, get_warehouse

SERIES_TABLE = "ml.ml_app_activity_series"
#: the columns the snapshot reads (dataform/definitions/ml/ml_app_activity_series.sqlx)
SERIES_SCHEMA = pa.schema(
    [
        ("ts_hour", pa.timestamp("us", tz="UTC")),
        ("country", pa.string()),
        ("platform", pa.string()),
        ("event_count", pa.int64()),
    ]
)


def history_hours(table: pa.Table) -> int:
    """Hours from the first to the last ``ts_hour`` inclusive (the series matrix's length; gaps count)."""
    if table.num_rows == 0:
        return 0
    bounds = pc.min_max(table.column("ts_hour"))
    first, last = bounds["min"].as_py(), bounds["max"].as_py()
    return int((last - first).total_seconds() // 3600) + 1


def load_series(
    as_of: date,
    out_path: Path,
    warehouse: Warehouse | None = None,
    horizon: int = WEEK_HOURS,
    max_hours: int | None = None,
) -> dict[str, Any]:
    """Snapshot the hourly series of the last ``max_hours`` hours up to the end of ``as_of`` (UTC)
    into Parquet.

    ``max_hours`` defaults to :func:`hours_read` for ``horizon``: the most training reads (and a
    forecast reads less), so the snapshot, like the training, stops growing with the history.
    Returns the lineage plus ``ready`` (enough history to train for ``horizon``), ``reason`` and
    ``history_hours`` (of the snapshot).
    """
    end = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC) + timedelta(days=1)
    start = end - timedelta(hours=max_hours or hours_read(horizon))
    missing = False
    try:
        table = (warehouse or get_warehouse()).query(
            f"SELECT ts_hour, country, platform, event_count FROM {SERIES_TABLE} "
            f"WHERE ts_hour >= TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}+00' "
            f"AND ts_hour < TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}+00' ORDER BY ts_hour, country, platform"
        )
    except Exception as exc:
        if not is_missing_table(exc):
            raise
        table, missing = SERIES_SCHEMA.empty_table(), True
    hours = history_hours(table)
    if missing:
        readiness = Readiness(False, f"{SERIES_TABLE} does not exist yet (no app-activity history)")
    elif hours == 0:
        readiness = Readiness(False, f"{SERIES_TABLE} has no rows before {end.isoformat()}")
    else:
        readiness = training_readiness(SERIES_TABLE, hours, horizon)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out_path)
    lineage = Lineage(SERIES_TABLE, as_of.isoformat(), table.num_rows, table_fingerprint(table))
    return snapshot_lineage(lineage, readiness, history_hours=hours, horizon=horizon)
