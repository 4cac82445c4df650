"""The pipeline's input side — decode, late-data gate, dedupe — and :class:`AppEventsFlow`, the whole flow.

Events move in *chunks* — the events of one message that share one 1-minute window and one
dedupe shard — so the runner's per-element cost is paid per chunk, not per event, while
dead-lettering, dedupe and lateness are still decided per event (see ``windowing``).

    messages ─ DecodeMessages ─┬─ chunks ─ LateDataGate ─┬─ DedupeEvents ─┬─ WriteLakeFiles   (1-min panes → Parquet)
                               │                         │                └─ HourlyAggregates (1-h ACCUMULATING panes)
                               │                         └─ late ───────────┐                    └─ WriteHourlyAggregates
                               └─ dead letters ─────────────────────────────┴─ WriteDeadLetters (JSONL) [+ PublishDeadLetters]

The output side (``WriteLakeFiles``, ``HourlyAggregates``, ``WriteHourlyAggregates``,
``WriteDeadLetters``, ``PublishDeadLetters``) is in ``streaming.outputs``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from streaming.decode import LATE, chunk_events, decode_message, event_dead_letter, iso, to_micros
from streaming.metrics import counter
from streaming.outputs import HourlyAggregates, WriteDeadLetters, WriteHourlyAggregates, WriteLakeFiles
from streaming.sinks import LakeStore, WarehouseTarget
from streaming.windowing import (
    DEFAULT_ALLOWED_LATENESS_S,
    GATE_KEY,
    LAKE_WINDOW_S,
    LATE_TAG,
    LateDataGate,
    check_lake_window,
)

DEAD_TAG = "dead"


# --- decode ------------------------------------------------------------------------------------------


class _DecodeFn(beam.DoFn):
    def __init__(self, shards: int, window_s: int = LAKE_WINDOW_S) -> None:
        self.shards = shards
        self.window_s = window_s
        self.messages = counter("messages_in")
        self.events_in = counter("events_in")
        self.invalid = counter("events_invalid")
        self.undecodable = counter("messages_undecodable")

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
        for (window_start, shard), events in chunk_events(decoded.events, self.window_s, self.shards).items():
            first = min(to_micros(e["event_ts"]) for e in events)
            yield TimestampedValue((GATE_KEY, (window_start, shard, source, events)), Timestamp(micros=first))


class DecodeMessages(beam.PTransform):
    """Pub/Sub messages (or raw payload bytes) → ``chunks`` (event-timestamped) and ``dead`` records."""

    def __init__(self, shards: int, window_s: int = LAKE_WINDOW_S) -> None:
        super().__init__()
        self.shards = shards
        self.window_s = window_s

    def expand(self, messages: beam.PCollection) -> beam.pvalue.DoOutputsTuple:
        # the main output's key type is declared so that the gate's state key gets a deterministic coder
        decode = beam.ParDo(_DecodeFn(self.shards, self.window_s)).with_output_types(tuple[int, Any])
        return messages | decode.with_outputs(DEAD_TAG, main="chunks")


# --- lateness and dedupe -----------------------------------------------------------------------------


def late_dead_letters(
    late: tuple[int, Any, list[dict[str, Any]], int], allowed_lateness_s: int, window_s: int = LAKE_WINDOW_S
) -> list[dict[str, Any]]:
    """Dead-letter records (reason ``late``) for a chunk whose window had closed."""
    window_start, source, events, floor = late
    detail = (
        f"window {iso(window_start)} + {window_s}s closed: the watermark had passed "
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
        self.duplicates = counter("events_duplicate")
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

    def __init__(self, allowed_lateness_s: int, window_s: int = LAKE_WINDOW_S) -> None:
        super().__init__()
        self.allowed_lateness_s = allowed_lateness_s
        self.window_s = window_s

    def expand(self, chunks: beam.PCollection) -> dict[str, beam.PCollection]:
        # key types declared so that the dedupe state key gets a deterministic coder
        gate = beam.ParDo(LateDataGate(self.window_s, self.allowed_lateness_s))
        gate = gate.with_output_types(tuple[tuple[int, int], Any])
        gated = chunks | "LateDataGate" >> gate.with_outputs(LATE_TAG, main="open")
        dedupe = beam.ParDo(DedupeByEventId(self.window_s, self.allowed_lateness_s))
        unique = gated.open | "DedupeByEventId" >> dedupe
        late = gated[LATE_TAG] | "LateToDeadLetters" >> beam.FlatMap(
            late_dead_letters, self.allowed_lateness_s, self.window_s
        )
        return {"main": unique, "late": late}


# --- everything between the source and the sinks -----------------------------------------------------


class AppEventsFlow(beam.PTransform):
    """Messages → lake files, hourly panes (merged into the warehouse) and dead letters.

    Returns ``{"lake_files", "hourly", "merged", "dead_letters", "deadletter_files"}``; the
    caller adds :class:`~streaming.outputs.PublishDeadLetters` when a dead-letter topic is configured."""

    def __init__(
        self,
        lake: LakeStore,
        warehouse: WarehouseTarget,
        *,
        allowed_lateness_s: int = DEFAULT_ALLOWED_LATENESS_S,
        shards: int = 4,
        early_firing_s: int = 0,
        lake_window_s: int = LAKE_WINDOW_S,
    ) -> None:
        super().__init__()
        self.lake = lake
        self.warehouse = warehouse
        self.allowed_lateness_s = allowed_lateness_s
        self.lake_window_s = check_lake_window(lake_window_s)
        self.shards = shards
        self.early_firing_s = early_firing_s

    def expand(self, messages: beam.PCollection) -> dict[str, beam.PCollection]:
        decoded = messages | "Decode" >> DecodeMessages(self.shards, self.lake_window_s)
        gated = decoded.chunks | "GateAndDedupe" >> GateAndDedupe(self.allowed_lateness_s, self.lake_window_s)
        lake_files = gated["main"] | "WriteLake" >> WriteLakeFiles(
            self.lake, self.allowed_lateness_s, self.lake_window_s
        )
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
    "late_dead_letters",
]
