"""``publish_app_events``: one minute of one shard's app events onto the Avro topic.

Each message is one ``AppEventBatch`` (Avro binary, the topic's schema) of up to
:data:`BATCH_EVENTS` events. Batch ids are deterministic (producer, minute, shard, sequence),
and so is ``created_ts`` (the end of the minute): a rerun of a minute publishes byte-identical
messages, which the streaming pipeline deduplicates by event id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.app_event_codec import encode_batch
from rillflow_functions.ports import Generators, MessagePublisher, chunked

PRODUCER = "publish_app_events"
BATCH_EVENTS = 500


def minute_floor(ts: datetime) -> datetime:
    ts = ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
    return ts.replace(second=0, microsecond=0)


def previous_minute(now: datetime) -> datetime:
    """The last whole minute before ``now``."""
    return minute_floor(now) - timedelta(minutes=1)


def rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def batch_id(minute: datetime, shard: int, shards: int, seq: int) -> str:
    return f"{PRODUCER}/{minute.astimezone(UTC):%Y%m%dT%H%MZ}/{shard}-of-{shards}/{seq:05d}"


def build_messages(
    events: Sequence[dict[str, Any]], minute: datetime, shard: int, shards: int
) -> list[tuple[bytes, Mapping[str, str]]]:
    created = minute + timedelta(minutes=1)
    messages: list[tuple[bytes, Mapping[str, str]]] = []
    for seq, chunk in enumerate(chunked(events, BATCH_EVENTS)):
        bid = batch_id(minute, shard, shards, seq)
        attrs = {"batch_id": bid, "minute": rfc3339(minute), "shard": f"{shard}/{shards}"}
        messages.append((encode_batch(chunk, bid, PRODUCER, created), attrs))
    return messages


def publish_app_events(
    publisher: MessagePublisher,
    generators: Generators,
    topic: str,
    minute: datetime,
    shard: int,
    shards: int,
    events_per_day: int | None = None,
) -> dict[str, Any]:
    if not 0 <= shard < shards:
        raise ValueError(f"shard must be in [0, {shards}), got {shard}")
    minute = minute_floor(minute)
    events = generators.app_events(minute, minute + timedelta(minutes=1), (shard, shards), events_per_day)
    messages = build_messages(events, minute, shard, shards)
    ids = publisher.publish_all(topic, messages) if messages else []
    return {
        "minute": rfc3339(minute),
        "shard": shard,
        "shards": shards,
        "events": len(events),
        "messages": len(ids),
        "topic": topic,
    }
