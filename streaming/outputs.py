"""The pipeline's output side: de-duplicated chunks and dead letters into the lake, the warehouse and Pub/Sub.

* :class:`WriteLakeFiles`: 1-minute window panes → one Parquet object per pane and shard.
* :class:`HourlyAggregates` (with :func:`hourly_totals`, :class:`SumTotals`): 1-hour ACCUMULATING
  panes of per-(country, platform, event_type) totals; :class:`WriteHourlyAggregates` merges
  each pane into ``streaming.app_events_hourly``.
* :class:`WriteDeadLetters`: dead-letter records → JSONL objects per day;
  :class:`PublishDeadLetters`: the same records → the dead-letter topic.

The decode, gate and dedupe steps, and :class:`~streaming.transforms.AppEventsFlow` that wires
them to these, are in ``streaming.transforms``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
import pyarrow as pa

from streaming.decode import iso, to_micros
from streaming.metrics import counter
from streaming.sinks import (
    DeadLetterTopic,
    LakeStore,
    WarehouseTarget,
    deadletter_dt,
    deadletter_object_name,
    events_table,
    hourly_table,
    jsonl_bytes,
    lake_object_name,
    parquet_bytes,
)
from streaming.windowing import LAKE_WINDOW_S, batching_windowing, hourly_windowing, lake_windowing

Totals = dict[tuple[str, str, str], list[float]]


# --- the lake ----------------------------------------------------------------------------------------


class _WriteParquetFn(beam.DoFn):
    def __init__(self, store: LakeStore) -> None:
        self.store = store
        self.rows = counter("lake_rows")
        self.files = counter("lake_files")

    def process(
        self,
        element: tuple[int, Iterable[list[dict[str, Any]]]],
        window=beam.DoFn.WindowParam,
        pane=beam.DoFn.PaneInfoParam,
    ) -> Iterator[dict[str, Any]]:
        shard, chunks = element
        events = sorted(
            (e for chunk in chunks for e in chunk), key=lambda e: (to_micros(e["event_ts"]), e["event_id"])
        )
        if not events:
            return
        window_start = window.start.micros
        name = lake_object_name(window_start, shard, (e["event_id"] for e in events))
        uri = self.store.put(name, parquet_bytes(events_table(events)), "application/vnd.apache.parquet")
        self.rows.inc(len(events))
        self.files.inc()
        yield {
            "uri": uri,
            "name": name,
            "window_start": iso(window_start),
            "shard": shard,
            "rows": len(events),
            "pane_index": pane.index,
            "timing": pane.timing,
        }


class WriteLakeFiles(beam.PTransform):
    """De-duplicated chunks → one Parquet object per lake window pane (1 minute by default) and
    shard; emits file infos."""

    def __init__(self, store: LakeStore, allowed_lateness_s: int, window_s: int = LAKE_WINDOW_S) -> None:
        super().__init__()
        self.store = store
        self.allowed_lateness_s = allowed_lateness_s
        self.window_s = window_s

    def expand(self, chunks: beam.PCollection) -> beam.PCollection:
        return (
            chunks
            | "MinuteWindows" >> lake_windowing(self.allowed_lateness_s, self.window_s)
            | "KeyByShard" >> beam.Map(lambda c: (c[1], c[2]))
            | "GroupPane" >> beam.GroupByKey()
            | "WriteParquet" >> beam.ParDo(_WriteParquetFn(self.store))
        )


# --- hourly aggregates -------------------------------------------------------------------------------


#: revenue is added up in whole nano-dollars: a window's sum is then the same whatever order its
#: chunks and events are added in (a float sum's last bits depend on it), so every run that sees
#: the same events of an hour writes the same row (the stream, a bounded drain, a backfill)
NANOS_PER_USD = 1_000_000_000


def hourly_totals(events: Iterable[dict[str, Any]]) -> Totals:
    """``{(country, platform, event_type): [event_count, revenue in nano-USD]}`` of some events."""
    totals: Totals = {}
    for e in events:
        key = (e["country"], e["platform"], e["event_type"])
        acc = totals.get(key)
        if acc is None:
            acc = totals[key] = [0, 0]
        acc[0] += 1
        acc[1] += round((e.get("revenue_usd") or 0.0) * NANOS_PER_USD)
    return totals


class SumTotals(beam.CombineFn):
    """Adds up per-chunk :func:`hourly_totals` (an ACCUMULATING pane carries the whole window);
    the output's revenue is in USD."""

    def create_accumulator(self) -> Totals:
        return {}

    def add_input(self, acc: Totals, totals: Totals) -> Totals:
        for key, (count, revenue) in totals.items():
            cur = acc.get(key)
            if cur is None:
                acc[key] = [count, revenue]
            else:
                cur[0] += count
                cur[1] += revenue
        return acc

    def merge_accumulators(self, accumulators: Iterable[Totals]) -> Totals:
        out: Totals = {}
        for acc in accumulators:
            self.add_input(out, acc)
        return out

    def extract_output(self, acc: Totals) -> Totals:
        return {k: [v[0], v[1] / NANOS_PER_USD] for k, v in acc.items()}


class _WithWindowFn(beam.DoFn):
    def process(
        self, element: tuple[Any, Totals], window=beam.DoFn.WindowParam, pane=beam.DoFn.PaneInfoParam
    ):
        _, totals = element
        yield {
            "window_start_us": window.start.micros,
            "totals": totals,
            "pane_index": pane.index,
            "timing": pane.timing,
        }


class HourlyAggregates(beam.PTransform):
    """De-duplicated chunks → one record per 1-hour window pane: ``{window_start_us, totals, pane_index, timing}``."""

    def __init__(self, allowed_lateness_s: int, early_firing_s: int = 0) -> None:
        super().__init__()
        self.allowed_lateness_s = allowed_lateness_s
        self.early_firing_s = early_firing_s

    def expand(self, chunks: beam.PCollection) -> beam.PCollection:
        return (
            chunks
            | "HourWindows" >> hourly_windowing(self.allowed_lateness_s, self.early_firing_s)
            | "ChunkTotals" >> beam.Map(lambda c: (None, hourly_totals(c[2])))
            | "SumPerWindow" >> beam.CombinePerKey(SumTotals())
            | "WithWindow" >> beam.ParDo(_WithWindowFn())
        )


class _MergeHourlyFn(beam.DoFn):
    """Merges the panes of a bundle in one write: a warehouse merge costs a connection (DuckDB) or
    a load job (BigQuery) whatever its size, and a bounded run hands over a day of hours at once.
    Of several panes of one window in a bundle only the latest is written (ACCUMULATING: it
    carries the whole window so far), which is what merging them one by one would leave."""

    def __init__(self, target: WarehouseTarget) -> None:
        self.target = target
        self.rows = counter("warehouse_rows_merged")

    def setup(self) -> None:
        self.warehouse = self.target.open()

    def start_bundle(self) -> None:
        self._panes: dict[int, dict[str, Any]] = {}

    def process(self, pane: dict[str, Any]) -> None:
        window = pane["window_start_us"]
        held = self._panes.get(window)
        if held is None or pane["pane_index"] >= held["pane_index"]:
            self._panes[window] = pane

    def finish_bundle(self) -> None:
        panes, self._panes = self._panes, {}
        if panes:
            tables = [hourly_table(p["window_start_us"], p["totals"]) for _, p in sorted(panes.items())]
            self.rows.inc(self.target.merge_hourly(self.warehouse, pa.concat_tables(tables)))


class WriteHourlyAggregates(beam.PTransform):
    """Merge each hourly pane into ``streaming.app_events_hourly`` on (window_start, country, platform,
    event_type); the output is empty (the merged row count is the ``warehouse_rows_merged`` counter)."""

    def __init__(self, target: WarehouseTarget) -> None:
        super().__init__()
        self.target = target

    def expand(self, panes: beam.PCollection) -> beam.PCollection:
        return panes | "MergeIntoWarehouse" >> beam.ParDo(_MergeHourlyFn(self.target))


# --- dead letters ------------------------------------------------------------------------------------


class _WriteJsonlFn(beam.DoFn):
    def __init__(self, store: LakeStore) -> None:
        self.store = store
        self.written = counter("deadletters_written")

    def process(self, element: tuple[str, Iterable[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
        dt, records = element
        records = sorted(records, key=lambda r: (str(r.get("message_id")), str(r.get("event_id")), r["kind"]))
        name = deadletter_object_name(dt, records)
        uri = self.store.put(name, jsonl_bytes(records), "application/x-ndjson")
        self.written.inc(len(records))
        yield {"uri": uri, "name": name, "dt": dt, "rows": len(records)}


class WriteDeadLetters(beam.PTransform):
    """Dead-letter records → JSONL objects under ``deadletter/app_events/dt=YYYY-MM-DD/``.

    Batched in the global window (see ``windowing.batching_windowing``): nothing here can be
    dropped as late, whatever the records' timestamps."""

    def __init__(self, store: LakeStore, max_records: int = 5000, max_delay_s: int = 30) -> None:
        super().__init__()
        self.store = store
        self.max_records = max_records
        self.max_delay_s = max_delay_s

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return (
            records
            | "Batch" >> batching_windowing(self.max_records, self.max_delay_s)
            | "KeyByDay" >> beam.Map(lambda r: (deadletter_dt(r), r))
            | "GroupByDay" >> beam.GroupByKey()
            | "WriteJsonl" >> beam.ParDo(_WriteJsonlFn(self.store))
        )


class _PublishFn(beam.DoFn):
    def __init__(self, topic: DeadLetterTopic, max_buffer: int = 500) -> None:
        self.topic = topic
        self.max_buffer = max_buffer
        self.published = counter("deadletters_published")

    def start_bundle(self) -> None:
        self._buffer: list[dict[str, Any]] = []

    def process(self, record: dict[str, Any]) -> None:
        self._buffer.append(record)
        if len(self._buffer) >= self.max_buffer:
            self._flush()

    def finish_bundle(self) -> None:
        self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self.published.inc(self.topic.publish(self._buffer))
            self._buffer = []


class PublishDeadLetters(beam.PTransform):
    """Dead-letter records → the Pub/Sub dead-letter topic (JSON body; kind/field/reason attributes)."""

    def __init__(self, topic: DeadLetterTopic) -> None:
        super().__init__()
        self.topic = topic

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | "Publish" >> beam.ParDo(_PublishFn(self.topic))


__all__ = [
    "HourlyAggregates",
    "PublishDeadLetters",
    "SumTotals",
    "WriteDeadLetters",
    "WriteHourlyAggregates",
    "WriteLakeFiles",
    "hourly_totals",
]
