"""The pipeline's composite transforms, from Pub/Sub messages to the lake, warehouse and dead letters.

Events move in *chunks* — the events of one message that share one 1-minute window and one
dedupe shard — so the runner's per-element cost is paid per chunk, not per event, while
dead-lettering, dedupe and lateness are still decided per event (see ``windowing``).

    messages ─ DecodeMessages ─┬─ chunks ─ LateDataGate ─┬─ DedupeEvents ─┬─ WriteLakeFiles   (1-min panes → Parquet)
                               │                         │                └─ HourlyAggregates (1-h ACCUMULATING panes)
                               │                         └─ late ───────────┐                    └─ WriteHourlyAggregates
                               └─ dead letters ─────────────────────────────┴─ WriteDeadLetters (JSONL) [+ PublishDeadLetters]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from streaming.decode import LATE, chunk_events, decode_message, event_dead_letter, iso, to_micros
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
from streaming.windowing import (
    DEFAULT_ALLOWED_LATENESS_S,
    GATE_KEY,
    LAKE_WINDOW_S,
    LATE_TAG,
    LateDataGate,
    batching_windowing,
    hourly_windowing,
    lake_windowing,
)

DEAD_TAG = "dead"
NAMESPACE = "app_events"
Totals = dict[tuple[str, str, str], list[float]]


def _counter(name: str) -> Any:
    return Metrics.counter(NAMESPACE, name)


# --- decode ------------------------------------------------------------------------------------------


class _DecodeFn(beam.DoFn):
    def __init__(self, shards: int) -> None:
        self.shards = shards
        self.messages = _counter("messages_in")
        self.events_in = _counter("events_in")
        self.invalid = _counter("events_invalid")
        self.undecodable = _counter("messages_undecodable")

    def process(self, message: Any) -> Iterator[Any]:
        payload = message.data if hasattr(message, "data") else message
        source: dict[str, Any] = {
            "message_id": getattr(message, "message_id", None),
            "attributes": dict(getattr(message, "attributes", None) or {}),
            "publish_time": getattr(message, "publish_time", None),
        }
        decoded = decode_message(payload, **source)
        self.messages.inc()
        source["batch_id"] = decoded.batch_id
        for record in decoded.dead_letters:
            if record["kind"] == "undecodable":
                self.undecodable.inc()
            else:
                self.invalid.inc()
                self.events_in.inc()
            yield beam.pvalue.TaggedOutput(DEAD_TAG, record)
        self.events_in.inc(len(decoded.events))
        for (window_start, shard), events in chunk_events(decoded.events, LAKE_WINDOW_S, self.shards).items():
            first = min(to_micros(e["event_ts"]) for e in events)
            yield TimestampedValue((GATE_KEY, (window_start, shard, source, events)), Timestamp(micros=first))


class DecodeMessages(beam.PTransform):
    """Pub/Sub messages (or raw payload bytes) → ``chunks`` (event-timestamped) and ``dead`` records."""

    def __init__(self, shards: int) -> None:
        super().__init__()
        self.shards = shards

    def expand(self, messages: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        # the main output's key type is declared so that the gate's state key gets a deterministic coder
        decode = beam.ParDo(_DecodeFn(self.shards)).with_output_types(tuple[int, Any])
        return messages | decode.with_outputs(DEAD_TAG, main="chunks")


# --- lateness and dedupe -----------------------------------------------------------------------------


def late_dead_letters(
    late: tuple[int, Any, list[dict[str, Any]], int], allowed_lateness_s: int
) -> list[dict[str, Any]]:
    """Dead-letter records (reason ``late``) for a chunk whose window had closed."""
    window_start, source, events, floor = late
    detail = (
        f"window {iso(window_start)} + {LAKE_WINDOW_S}s closed: the watermark had passed "
        f"{iso(floor)} (window end + allowed lateness {allowed_lateness_s}s)"
    )
    return [
        event_dead_letter(
            e, kind=LATE, contract="app_event", field_name="event_ts", reason=LATE, detail=detail, **source
        )
        for e in events
    ]


class DedupeByEventId(beam.DoFn):
    """Drop events whose ``event_id`` was already seen in the same window (at-least-once upstream).

    Keyed by ``(window_start, shard)``: the ids seen live in a bag of id tuples (one append
    per chunk) and are read once per key and bundle; a timer clears them when the window
    closes (window end + allowed lateness + one window), after which its chunks are late.
    """

    SEEN = BagStateSpec("seen_ids", PickleCoder())
    CLEAR = TimerSpec("clear", TimeDomain.WATERMARK)

    def __init__(
        self, window_s: int = LAKE_WINDOW_S, allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S
    ) -> None:
        self.retain_us = (window_s + allowed_lateness_s + window_s) * 1_000_000
        self.duplicates = _counter("events_duplicate")
        self._cache: dict[Any, set[str]] = {}

    def start_bundle(self) -> None:
        self._cache = {}

    def process(
        self,
        element: tuple[tuple[int, int], list[dict[str, Any]]],
        seen=beam.DoFn.StateParam(SEEN),
        clear_timer=beam.DoFn.TimerParam(CLEAR),
    ) -> Iterator[tuple[int, int, list[dict[str, Any]]]]:
        key, events = element
        ids = self._cache.get(key)
        if ids is None:
            ids = set()
            for chunk in seen.read():
                ids.update(chunk)
            if not ids:
                clear_timer.set(Timestamp(micros=key[0] + self.retain_us))
            self._cache[key] = ids
        fresh = []
        for event in events:
            event_id = event["event_id"]
            if event_id in ids:
                continue
            ids.add(event_id)
            fresh.append(event)
        if len(fresh) < len(events):
            self.duplicates.inc(len(events) - len(fresh))
        if fresh:
            seen.add(tuple(e["event_id"] for e in fresh))
            yield key[0], key[1], fresh

    @on_timer(CLEAR)
    def on_clear(self, key=beam.DoFn.KeyParam, seen=beam.DoFn.StateParam(SEEN)) -> None:
        seen.clear()
        self._cache.pop(key, None)


class GateAndDedupe(beam.PTransform):
    """Chunks → ``main``: on-time, de-duplicated ``(window_start, shard, events)``; ``late``: dead letters."""

    def __init__(self, allowed_lateness_s: int) -> None:
        super().__init__()
        self.allowed_lateness_s = allowed_lateness_s

    def expand(self, chunks: beam.PCollection) -> dict[str, beam.PCollection]:
        # key types declared so that the dedupe state key gets a deterministic coder
        gate = beam.ParDo(LateDataGate(LAKE_WINDOW_S, self.allowed_lateness_s))
        gate = gate.with_output_types(tuple[tuple[int, int], Any])
        gated = chunks | "LateDataGate" >> gate.with_outputs(LATE_TAG, main="open")
        dedupe = beam.ParDo(DedupeByEventId(LAKE_WINDOW_S, self.allowed_lateness_s))
        unique = gated.open | "DedupeByEventId" >> dedupe
        late = gated[LATE_TAG] | "LateToDeadLetters" >> beam.FlatMap(
            late_dead_letters, self.allowed_lateness_s
        )
        return {"main": unique, "late": late}


# --- the lake ----------------------------------------------------------------------------------------


class _WriteParquetFn(beam.DoFn):
    def __init__(self, store: LakeStore) -> None:
        self.store = store
        self.rows = _counter("lake_rows")
        self.files = _counter("lake_files")

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
    """De-duplicated chunks → one Parquet object per 1-minute window pane and shard; emits file infos."""

    def __init__(self, store: LakeStore, allowed_lateness_s: int) -> None:
        super().__init__()
        self.store = store
        self.allowed_lateness_s = allowed_lateness_s

    def expand(self, chunks: beam.PCollection) -> beam.PCollection:
        return (
            chunks
            | "MinuteWindows" >> lake_windowing(self.allowed_lateness_s)
            | "KeyByShard" >> beam.Map(lambda c: (c[1], c[2]))
            | "GroupPane" >> beam.GroupByKey()
            | "WriteParquet" >> beam.ParDo(_WriteParquetFn(self.store))
        )


# --- hourly aggregates -------------------------------------------------------------------------------


def hourly_totals(events: Iterable[dict[str, Any]]) -> Totals:
    """``{(country, platform, event_type): [event_count, revenue_usd]}`` of some events."""
    totals: Totals = {}
    for e in events:
        key = (e["country"], e["platform"], e["event_type"])
        acc = totals.get(key)
        if acc is None:
            acc = totals[key] = [0, 0.0]
        acc[0] += 1
        acc[1] += e.get("revenue_usd") or 0.0
    return totals


class SumTotals(beam.CombineFn):
    """Adds up per-chunk :func:`hourly_totals` (an ACCUMULATING pane carries the whole window)."""

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
        return {k: [v[0], v[1]] for k, v in acc.items()}


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
    def __init__(self, target: WarehouseTarget) -> None:
        self.target = target
        self.rows = _counter("warehouse_rows_merged")

    def setup(self) -> None:
        self.warehouse = self.target.open()

    def process(self, pane: dict[str, Any]) -> Iterator[int]:
        table = hourly_table(pane["window_start_us"], pane["totals"])
        n = self.target.merge_hourly(self.warehouse, table)
        self.rows.inc(n)
        yield n


class WriteHourlyAggregates(beam.PTransform):
    """Merge each hourly pane into ``streaming.app_events_hourly`` on (window_start, country, platform, event_type)."""

    def __init__(self, target: WarehouseTarget) -> None:
        super().__init__()
        self.target = target

    def expand(self, panes: beam.PCollection) -> beam.PCollection:
        return panes | "MergeIntoWarehouse" >> beam.ParDo(_MergeHourlyFn(self.target))


# --- dead letters ------------------------------------------------------------------------------------


class _WriteJsonlFn(beam.DoFn):
    def __init__(self, store: LakeStore) -> None:
        self.store = store
        self.written = _counter("deadletters_written")

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
        self.published = _counter("deadletters_published")

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


# --- everything between the source and the sinks -----------------------------------------------------


class AppEventsFlow(beam.PTransform):
    """Messages → lake files, hourly panes (merged into the warehouse) and dead letters.

    Returns ``{"lake_files", "hourly", "merged", "dead_letters", "deadletter_files"}``; the
    caller adds :class:`PublishDeadLetters` when a dead-letter topic is configured."""

    def __init__(
        self,
        lake: LakeStore,
        warehouse: WarehouseTarget,
        *,
        allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S,
        shards: int = 4,
        early_firing_s: int = 0,
    ) -> None:
        super().__init__()
        self.lake = lake
        self.warehouse = warehouse
        self.allowed_lateness_s = allowed_lateness_s
        self.shards = shards
        self.early_firing_s = early_firing_s

    def expand(self, messages: beam.PCollection) -> dict[str, beam.PCollection]:
        decoded = messages | "Decode" >> DecodeMessages(self.shards)
        gated = decoded.chunks | "GateAndDedupe" >> GateAndDedupe(self.allowed_lateness_s)
        lake_files = gated["main"] | "WriteLake" >> WriteLakeFiles(self.lake, self.allowed_lateness_s)
        hourly = gated["main"] | "Hourly" >> HourlyAggregates(self.allowed_lateness_s, self.early_firing_s)
        merged = hourly | "WriteWarehouse" >> WriteHourlyAggregates(self.warehouse)
        dead = (decoded[DEAD_TAG], gated["late"]) | "AllDeadLetters" >> beam.Flatten()
        deadletter_files = dead | "WriteDeadLetters" >> WriteDeadLetters(self.lake)
        return {
            "lake_files": lake_files,
            "hourly": hourly,
            "merged": merged,
            "dead_letters": dead,
            "deadletter_files": deadletter_files,
        }


__all__ = [
    "AppEventsFlow",
    "DecodeMessages",
    "DedupeByEventId",
    "GateAndDedupe",
    "HourlyAggregates",
    "PublishDeadLetters",
    "SumTotals",
    "WriteDeadLetters",
    "WriteHourlyAggregates",
    "WriteLakeFiles",
    "hourly_totals",
    "late_dead_letters",
]
