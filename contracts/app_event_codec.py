"""Avro BINARY encoding of the app-event batch envelope (the Pub/Sub topic's schema).

One Pub/Sub message = one ``AppEventBatch``. Producers encode with :func:`encode_batch`;
the streaming pipeline decodes with :func:`decode_batch` and then checks each event
on its own, so a bad event is dead-lettered without losing its neighbours.

A ``timestamp-micros`` long that no datetime can hold (beyond year 9999, say) is still a valid
Avro long, so it must not take the whole batch down: :func:`decode_batch` leaves such a value as
the raw long, and the contract (``validate("app_event", ...)``) rejects that one event, naming
``event_ts``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import fastavro

from contracts import avro_schema_text, load_avro_schema

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: the timestamp fields of the envelope and of each event
_BATCH_TIMESTAMPS = ("created_ts",)
_EVENT_TIMESTAMPS = ("event_ts",)


def encode_batch(
    events: Sequence[dict[str, Any]], batch_id: str, producer: str, created_ts: datetime
) -> bytes:
    """Schemaless Avro binary of one batch (what Pub/Sub validates against the topic's schema)."""
    buf = io.BytesIO()
    record = {"batch_id": batch_id, "producer": producer, "created_ts": created_ts, "events": list(events)}
    fastavro.schemaless_writer(buf, load_avro_schema("app_event_batch"), record)
    return buf.getvalue()


def _strip_timestamp_types(schema: Any) -> Any:
    """The schema with ``timestamp-micros`` as plain ``long`` (same bytes, no conversion on read)."""
    if isinstance(schema, dict):
        if schema.get("logicalType") == "timestamp-micros":
            return "long"
        return {k: _strip_timestamp_types(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_strip_timestamp_types(v) for v in schema]
    return schema


@cache
def _raw_batch_schema() -> Any:
    return fastavro.parse_schema(_strip_timestamp_types(json.loads(avro_schema_text("app_event_batch"))))


def from_timestamp_micros(us: int) -> datetime | int:
    """The UTC datetime of a ``timestamp-micros`` long, or the long itself when no datetime holds it."""
    try:
        return _EPOCH + timedelta(microseconds=us)
    except OverflowError:
        return us


def decode_batch(payload: bytes) -> dict[str, Any]:
    """Inverse of :func:`encode_batch`; raises on bytes that are not a batch (caller dead-letters).

    Timestamps come back as aware UTC datetimes, or as the raw long when out of datetime's range."""
    buf = io.BytesIO(payload)
    record: dict[str, Any] = fastavro.schemaless_reader(buf, _raw_batch_schema(), None)  # type: ignore[call-arg,assignment]
    if buf.tell() != len(payload):
        raise ValueError(f"trailing bytes after the Avro batch: {len(payload) - buf.tell()} unread")
    for name in _BATCH_TIMESTAMPS:
        record[name] = from_timestamp_micros(record[name])
    for event in record["events"]:
        for name in _EVENT_TIMESTAMPS:
            event[name] = from_timestamp_micros(event[name])
    return record
