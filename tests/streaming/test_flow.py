"""The whole flow into a local lake directory and a DuckDB warehouse: paths, schema, reconciliation, idempotence."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import apache_beam as beam
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamPipeline
from apache_beam.testing.test_stream import TestStream as Stream

from streaming.pipeline import run_bounded_on
from streaming.sinks import APP_EVENT_SCHEMA, HOURLY_KEY, LocalLakeStore, WarehouseTarget, hourly_table
from streaming.transforms import AppEventsFlow
from tests.support.streaming import BASE, T0, event, message, raw_message

PART = re.compile(
    r"lake/app_events/dt=(\d{4}-\d{2}-\d{2})/part-(\d{8}T\d{4})-(\d{3})-([0-9a-f]{16})\.parquet$"
)


def bounded_options(tmp_path: Path, *extra: str) -> PipelineOptions:
    return PipelineOptions(
        [
            "--lake_uri", str(tmp_path / "lake"),
            "--warehouse", "duckdb",
            "--duckdb_path", str(tmp_path / "warehouse.duckdb"),
            "--agg_early_firing_s", "0",
            *extra,
        ]
    )  # fmt: skip


def corpus() -> tuple[list[Any], list[dict[str, Any]], int]:
    """Messages (with a redelivery, garbage, and invalid events) and the distinct valid events."""
    valid = [
        event(i, i * 37, country=("DE", "FR", "US")[i % 3], event_type=("open", "purchase")[i % 2])
        for i in range(120)
    ]
    bad = [event("bad-country", 10, country="xx"), event("bad-price", 20, event_type="purchase", price=-3.0)]
    messages = [
        message(valid[:50], 1),
        # published long after its events (a replay): must not make them late in a bounded run
        message(valid[50:] + bad, 2, publish=T0 + timedelta(days=300)),
        message(valid[:50], 1),  # at-least-once: the same batch again
        raw_message(b"\x00 not avro at all", 3),
    ]
    return messages, valid, len(bad)


def lake_files(root: Path) -> list[Path]:
    return sorted((root / "lake" / "app_events").rglob("*.parquet"))


def deadletters(root: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for f in sorted((root / "deadletter").rglob("*.jsonl"))
        for line in f.read_text().splitlines()
    ]


def test_bounded_run_writes_partitioned_parquet_and_reconciles(tmp_path: Path) -> None:
    messages, valid, n_bad = corpus()
    report = run_bounded_on(messages, bounded_options(tmp_path))
    assert report.state.endswith("DONE")

    files = lake_files(tmp_path / "lake")
    assert files
    rows = []
    for f in files:
        m = PART.search(f.as_posix())
        assert m, f
        table = pq.read_table(f)
        assert table.schema.equals(APP_EVENT_SCHEMA, check_metadata=False)
        assert table.schema.field("event_ts").type == pa.timestamp("us", tz="UTC")
        dt, window, _, _ = m.groups()
        for ts in table.column("event_ts").to_pylist():
            assert (ts.strftime("%Y-%m-%d"), ts.strftime("%Y%m%dT%H%M")) == (dt, window)
        rows.extend(table.to_pylist())

    # each valid event exactly once (the redelivered batch was de-duplicated)
    assert sorted(r["event_id"] for r in rows) == sorted(e["event_id"] for e in valid)
    dls = deadletters(tmp_path / "lake")
    kinds = Counter(d["kind"] for d in dls)
    assert kinds == {"invalid": n_bad, "undecodable": 1}
    assert {(d["event_id"], d["field"]) for d in dls if d["kind"] == "invalid"} == {
        ("ebad-country", "country"),
        ("ebad-price", "price"),
    }
    # events in (distinct) = rows out + event dead letters, per country too
    distinct_in = Counter(e["country"] for e in valid) + Counter({"xx": 1, "DE": 1})
    out = Counter(r["country"] for r in rows) + Counter(d["country"] for d in dls if d["kind"] == "invalid")
    assert out == distinct_in

    agg = (
        duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
        .execute(
            "SELECT sum(event_count), round(sum(revenue_usd), 2), count(DISTINCT window_start) FROM streaming.app_events_hourly"
        )
        .fetchone()
    )
    revenue = round(sum(e["revenue_usd"] or 0 for e in valid), 2)
    assert agg == (len(valid), revenue, 2)  # events span 10:00–11:13: two hourly windows
    c = report.counters
    assert c["events_in"] == len(valid) + 50 + n_bad  # counted as delivered, duplicates included
    assert c["events_duplicate"] == 50
    assert c["lake_rows"] == len(valid)
    assert c["messages_undecodable"] == 1 and c["events_invalid"] == n_bad


def test_rerun_of_the_same_input_is_idempotent(tmp_path: Path) -> None:
    messages, valid, _ = corpus()
    q = "SELECT * EXCLUDE (updated_at) FROM streaming.app_events_hourly ORDER BY ALL"
    run_bounded_on(messages, bounded_options(tmp_path))
    first_files = [f.relative_to(tmp_path) for f in lake_files(tmp_path / "lake")]
    first_dl = sorted(p.relative_to(tmp_path) for p in (tmp_path / "lake" / "deadletter").rglob("*.jsonl"))
    first_rows = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True).execute(q).fetchall()

    run_bounded_on(messages, bounded_options(tmp_path))
    assert [f.relative_to(tmp_path) for f in lake_files(tmp_path / "lake")] == first_files
    assert (
        sorted(p.relative_to(tmp_path) for p in (tmp_path / "lake" / "deadletter").rglob("*.jsonl"))
        == first_dl
    )
    assert (
        duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True).execute(q).fetchall() == first_rows
    )


def test_hourly_merge_replaces_rows_on_the_key(tmp_path: Path) -> None:
    target = WarehouseTarget("duckdb", duckdb_path=str(tmp_path / "wh.duckdb"))
    wh = target.open()
    ws = int(T0.timestamp()) * 1_000_000
    target.merge_hourly(
        wh, hourly_table(ws, {("DE", "ios", "open"): [1, 0.0], ("US", "web", "purchase"): [2, 5.0]})
    )
    target.merge_hourly(
        wh, hourly_table(ws, {("DE", "ios", "open"): [1, 0.0], ("US", "web", "purchase"): [2, 5.0]})
    )
    target.merge_hourly(wh, hourly_table(ws, {("DE", "ios", "open"): [3, 0.0]}))  # a later (accumulated) pane
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    rows = con.execute(
        f"SELECT {', '.join(HOURLY_KEY[1:])}, event_count, revenue_usd FROM streaming.app_events_hourly ORDER BY ALL"
    ).fetchall()
    assert rows == [("DE", "ios", "open", 3, 0.0), ("US", "web", "purchase", 2, 5.0)]
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'app_events_hourly'"
        ).fetchall()
    )
    assert types["event_count"] == "BIGINT" and types["revenue_usd"] == "DOUBLE"
    assert types["window_start"].startswith("TIMESTAMP") and types["updated_at"].startswith("TIMESTAMP")


def test_late_pane_is_another_file_and_late_events_are_dead_lettered(
    tmp_path: Path, streaming_options: Any
) -> None:
    stream = (
        Stream()
        .advance_watermark_to(BASE)
        .add_elements([message([event(1, 5), event(2, 6)], 1)], event_timestamp=BASE + 1)
        .advance_watermark_to(BASE + 120)  # minute 10:00 fires on time
        .add_elements(
            [message([event(3, 7)], 2)], event_timestamp=BASE + 121
        )  # late, within lateness: a late pane
        .advance_watermark_to(BASE + 60 + 600 + 1)  # minute 10:00 closes
        .add_elements([message([event(4, 8)], 3)], event_timestamp=BASE + 700)  # beyond lateness
        .advance_watermark_to_infinity()
    )
    lake = LocalLakeStore(str(tmp_path / "lake"))
    with BeamPipeline(options=streaming_options) as p:
        out = (
            p
            | stream
            | AppEventsFlow(
                lake, WarehouseTarget("duckdb", duckdb_path=str(tmp_path / "wh.duckdb")), shards=1
            )
        )
        out["lake_files"] | beam.Map(lambda f: None)
    files = lake_files(tmp_path / "lake")
    assert len(files) == 2 and all("part-20260105T1000-000-" in f.name for f in files)
    assert sorted(len(pq.read_table(f)) for f in files) == [1, 2]
    dls = deadletters(tmp_path / "lake")
    assert [(d["event_id"], d["kind"], d["reason"]) for d in dls] == [("e4", "late", "late")]
    assert "deadletter/app_events/dt=2026-01-05/" in next((tmp_path / "lake").rglob("*.jsonl")).as_posix()
    total = (
        duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
        .execute("SELECT sum(event_count) FROM streaming.app_events_hourly")
        .fetchone()
    )
    assert total == (3,)
