"""The streaming job's hourly merge (``WarehouseTarget`` kind ``bigquery``) against the emulator,
compared with the DuckDB path on the same panes: two overlapping merges and a re-delivery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from google.cloud import bigquery

from localgcp.services.bigquery import EMULATOR_RETRY
from rillflow.warehouse import BigQueryWarehouse, DuckDBWarehouse, bigquery_schema
from streaming.sinks import HOURLY_KEY, HOURLY_SCHEMA, WarehouseTarget, hourly_table
from tests.support.bigquery import PROJECT, table_names

pytestmark = pytest.mark.parity

W1 = int(dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC).timestamp() * 1_000_000)
W2 = W1 + 3_600_000_000


def _panes() -> list[pa.Table]:
    """An early pane of W1, then a late one of W1 (changed totals, a new key) and a pane of W2."""
    early = hourly_table(W1, {("DE", "ios", "open"): [3, 0.0], ("US", "web", "purchase"): [1, 9.99]})
    late = pa.concat_tables(
        [
            hourly_table(W1, {("DE", "ios", "open"): [5, 0.0], ("FR", "android", "view"): [2, 0.0]}),
            hourly_table(W2, {("DE", "ios", "open"): [1, 0.0], ("US", "web", "purchase"): [2, 5.5]}),
        ]
    )
    return [early, late]


def _sorted(table: pa.Table) -> list[dict[str, Any]]:
    columns = HOURLY_SCHEMA.names
    return sorted(table.select(columns).to_pylist(), key=lambda r: tuple(str(r[k]) for k in HOURLY_KEY))


def test_hourly_merge_on_bigquery_equals_duckdb(
    tmp_path: Path,
    bq_warehouse: BigQueryWarehouse,
    bq_client: bigquery.Client,
    new_dataset: Callable[[str], str],
) -> None:
    dataset = new_dataset("streaming")
    # the table as terraform declares it (terraform/streaming.tf): REQUIRED columns, day partitions
    table = bigquery.Table(f"{PROJECT}.{dataset}.app_events_hourly", schema=bigquery_schema(HOURLY_SCHEMA))
    table.time_partitioning = bigquery.TimePartitioning(field="window_start")
    table.clustering_fields = ["country", "platform", "event_type"]
    bq_client.create_table(table, retry=EMULATOR_RETRY)

    cloud = WarehouseTarget(kind="bigquery", dataset=dataset, project=PROJECT, location="EU")
    local = WarehouseTarget(kind="duckdb", dataset=dataset, duckdb_path=str(tmp_path / "w.duckdb"))
    duck = DuckDBWarehouse(tmp_path / "w.duckdb")
    select = f"SELECT * FROM {dataset}.app_events_hourly"

    for pane in _panes():
        assert cloud.merge_hourly(bq_warehouse, pane) == local.merge_hourly(duck, pane) == pane.num_rows
        assert _sorted(bq_warehouse.query(select)) == _sorted(duck.query(select))

    merged = _sorted(bq_warehouse.query(select))
    assert [(r["country"], r["event_count"]) for r in merged if r["window_start"].hour == 10] == [
        ("DE", 5),
        ("FR", 2),
        ("US", 1),
    ], "the late pane replaced W1's DE row, added FR and kept US"
    assert len(merged) == 5

    late = _panes()[1]
    cloud.merge_hourly(bq_warehouse, late)  # the same pane delivered again
    local.merge_hourly(duck, late)
    assert len(_sorted(bq_warehouse.query(select))) == 5
    assert [(r["country"], r["event_count"]) for r in _sorted(bq_warehouse.query(select))] == [
        (r["country"], r["event_count"]) for r in _sorted(duck.query(select))
    ]
    assert table_names(bq_client, dataset) == ["app_events_hourly"], "no staging table is left behind"
    kept = bq_client.get_table(f"{PROJECT}.{dataset}.app_events_hourly", retry=EMULATOR_RETRY)
    assert {f.name: f.mode for f in kept.schema} == {f.name: "REQUIRED" for f in HOURLY_SCHEMA}
