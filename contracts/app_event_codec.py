"""Avro BINARY encoding of the app-event batch envelope (the Pub/Sub topic's schema).

One Pub/Sub message = one ``AppEventBatch``. Producers encode with :func:`encode_batch`;
the streaming pipeline decodes with :func:`decode_batch` and then checks each event
on its own, so a bad event is dead-lettered without losing its neighbours.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import fastavro

from contracts import load_avro_schema


def encode_batch(
    events: Sequence[dict[str, Any]], batch_id: str, producer: str, created_ts: datetime
) -> bytes:
    """Schemaless Avro binary of one batch (what Pub/Sub validates against the topic's schema)."""
    buf = io.BytesIO()
    record = {"batch_id": batch_id, "producer": producer, "created_ts": created_ts, "events": list(events)}
    fastavro.schemaless_writer(buf, load_avro_schema("app_event_batch"), record)
    return buf.getvalue()


def decode_batch(payload: bytes) -> dict[str, Any]:
    """Inverse of :func:`encode_batch`; raises on bytes that are not a batch (caller dead-letters)."""
    buf = io.BytesIO(payload)
    record: dict[str, Any] = fastavro.schemaless_reader(buf, load_avro_schema("app_event_batch"), None)  # type: ignore[call-arg,assignment]
    if buf.tell() != len(payload):
        raise ValueError(f"trailing bytes after the Avro batch: {len(payload) - buf.tell()} unread")
    return record
