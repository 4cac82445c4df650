"""``publish_app_events``: one minute of one shard's app events onto the Avro topic.

Each message is one ``AppEventBatch`` (Avro binary, the topic's schema) of up to
:data:`BATCH_EVENTS` events. Batch ids are deterministic (producer, minute, shard, sequence),
and so is ``created_ts`` (the end of the minute): a rerun of a minute publishes byte-identical
messages, which the streaming pipeline deduplicates by event id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.app_event_codec import encode_batch
from rillflow_functions.ports import Generators, MessagePublisher, chunked

PRODUCER = "publish_app_events"
BATCH_EVENTS = 500
ONE_MINUTE = timedelta(minutes=1)


def minute_floor(ts: datetime) -> datetime:
    ts = ts.astimezone(UTC) if ts.tzinfo else ts.replace(tzinfo=UTC)
    return ts.replace(second=0, microsecond=0)


def previous_minute(now: datetime) -> datetime:
    """The last whole minute before ``now``."""
    return minute_floor(now) - timedelta(minutes=1)


def rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def batch_id(minute: datetime, shard: int, shards: int, seq: int, producer: str = PRODUCER) -> str:
    return f"{producer}/{minute.astimezone(UTC):%Y%m%dT%H%MZ}/{shard}-of-{shards}/{seq:05d}"


def build_messages(
    events: Sequence[dict[str, Any]],
    minute: datetime,
    shard: int,
    shards: int,
    producer: str = PRODUCER,
    span: timedelta = ONE_MINUTE,
) -> list[tuple[bytes, Mapping[str, str]]]:
    """The ``AppEventBatch`` messages of the events of ``[minute, minute + span)``."""
    created = minute + span
    messages: list[tuple[bytes, Mapping[str, str]]] = []
    for seq, chunk in enumerate(chunked(events, BATCH_EVENTS)):
        bid = batch_id(minute, shard, shards, seq, producer)
        attrs = {"batch_id": bid, "minute": rfc3339(minute), "shard": f"{shard}/{shards}"}
        messages.append((encode_batch(chunk, bid, producer, created), attrs))
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


def batches(
    generators: Generators,
    start: datetime,
    end: datetime,
    shard: int,
    shards: int,
    events_per_day: int | None = None,
    *,
    span: timedelta = ONE_MINUTE,
    producer: str = PRODUCER,
) -> Iterator[tuple[datetime, int, list[tuple[bytes, Mapping[str, str]]]]]:
    """``(period start, events, messages)`` for every ``span`` of ``[start, end)`` that has events,
    generated in one call (the generator gives any range and any chunking the same events).

    With the default span and producer these are the very messages :func:`publish_app_events`
    publishes minute by minute. A backfill packs an hour into each period (envelopes of at most
    :data:`BATCH_EVENTS` events, its own producer name): the streaming pipeline cuts lake files by
    event time and aggregates by hour, so the envelopes change nothing it writes, only how many
    messages it handles."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard must be in [0, {shards}), got {shard}")
    step = int(span.total_seconds() * 1_000_000)
    if step <= 0 or (3_600_000_000 % step and step % 3_600_000_000):
        raise ValueError(f"a period must divide an hour or be whole hours, got {span}")
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    events = generators.app_events(minute_floor(start), minute_floor(end), (shard, shards), events_per_day)
    periods: dict[datetime, list[dict[str, Any]]] = {}
    for event in events:
        us = (minute_floor(event["event_ts"]) - epoch) // timedelta(microseconds=1)
        periods.setdefault(epoch + timedelta(microseconds=us - us % step), []).append(event)
    for period in sorted(periods):
        chosen = periods[period]
        yield period, len(chosen), build_messages(chosen, period, shard, shards, producer, span)
