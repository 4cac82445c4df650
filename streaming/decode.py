"""Plain functions: one Pub/Sub message in, events and dead-letter records out.

Nothing here knows about Beam. A message carries one ``AppEventBatch`` (Avro, binary);
:func:`decode_message` decodes it with the project's codec and checks every event on
its own against the ``app_event`` contract, so a bad event is dead-lettered while its
neighbours go on. A message that is not a batch at all becomes one dead-letter record
carrying the whole payload. Every record that leaves the valid path says why (``field``,
``reason``) and carries its raw bytes (base64), the message id and the attributes, so
nothing is dropped and everything can be replayed.
"""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import fastavro

from contracts import ContractViolation, load_avro_schema, validate
from contracts.app_event_codec import decode_batch

#: what ``payload_b64`` holds in each kind of dead-letter record
PAYLOAD_BATCH = "avro-binary:dev.rillflow.appstore.AppEventBatch"
PAYLOAD_EVENT = "avro-binary:dev.rillflow.appstore.AppEvent"

#: dead-letter kinds
UNDECODABLE = "undecodable"
INVALID = "invalid"
LATE = "late"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class Decoded:
    """What one message became: its valid events and its dead-letter records."""

    events: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    batch_id: str | None = None


def to_micros(ts: datetime | int) -> int:
    """Microseconds since the epoch (UTC) of an Avro ``timestamp-micros`` value."""
    if isinstance(ts, int):
        return ts
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(us: int) -> datetime:
    return datetime.fromtimestamp(us // 1_000_000, tz=UTC).replace(microsecond=us % 1_000_000)


def iso(ts: datetime | int | None) -> str | None:
    """RFC 3339 text of a timestamp; None when absent or beyond what a datetime holds (a raw
    out-of-range long, which the dead letter keeps in its ``event``)."""
    if ts is None:
        return None
    try:
        return (from_micros(ts) if isinstance(ts, int) else ts).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError, OSError):
        return None


def encode_event(event: Mapping[str, Any]) -> bytes:
    """Schemaless Avro binary of one ``AppEvent`` (the raw bytes kept for an event dead letter)."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, load_avro_schema("app_event"), dict(event))
    return buf.getvalue()


def event_json(event: Mapping[str, Any]) -> dict[str, Any]:
    """The event as JSON-safe values (timestamps as RFC 3339 strings)."""
    return {k: (iso(v) if isinstance(v, datetime) else v) for k, v in event.items()}


def _message_context(
    message_id: str | None, attributes: Mapping[str, str] | None, publish_time: Any
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "attributes": dict(attributes or {}),
        "publish_time": iso(publish_time) if isinstance(publish_time, datetime | int) else None,
    }


def undecodable_record(
    payload: bytes,
    error: Exception,
    *,
    message_id: str | None = None,
    attributes: Mapping[str, str] | None = None,
    publish_time: Any = None,
) -> dict[str, Any]:
    """The dead letter for a message that is not an ``AppEventBatch`` (the whole payload is kept)."""
    return {
        "kind": UNDECODABLE,
        "contract": "app_event_batch",
        "field": "<message>",
        "reason": f"{type(error).__name__}: {error}",
        **_message_context(message_id, attributes, publish_time),
        "batch_id": None,
        "event_id": None,
        "event_ts": None,
        "country": None,
        "event": None,
        "payload_encoding": PAYLOAD_BATCH,
        "payload_b64": base64.b64encode(payload).decode("ascii"),
    }


def event_dead_letter(
    event: Mapping[str, Any],
    *,
    kind: str,
    contract: str,
    field_name: str,
    reason: str,
    message_id: str | None = None,
    attributes: Mapping[str, str] | None = None,
    publish_time: Any = None,
    batch_id: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    """The dead letter for one event (invalid, or late): the event, its own Avro bytes, and why."""
    record = {
        "kind": kind,
        "contract": contract,
        "field": field_name,
        "reason": reason,
        **_message_context(message_id, attributes, publish_time),
        "batch_id": batch_id,
        "event_id": event.get("event_id"),
        "event_ts": iso(event.get("event_ts")),
        "country": event.get("country"),
        "event": event_json(event),
        "payload_encoding": PAYLOAD_EVENT,
        "payload_b64": base64.b64encode(encode_event(event)).decode("ascii"),
    }
    if detail:
        record["detail"] = detail
    return record


def decode_message(
    payload: bytes,
    *,
    message_id: str | None = None,
    attributes: Mapping[str, str] | None = None,
    publish_time: Any = None,
) -> Decoded:
    """Decode one message into valid events and dead letters; never raises on bad input."""
    ctx = {"message_id": message_id, "attributes": attributes, "publish_time": publish_time}
    try:
        batch = decode_batch(payload)
    except Exception as exc:  # anything that is not a batch: garbage, truncation, wrong schema
        return Decoded(dead_letters=[undecodable_record(payload, exc, **ctx)])
    out = Decoded(batch_id=batch.get("batch_id"))
    for event in batch.get("events") or ():
        try:
            validate("app_event", event)
        except ContractViolation as violation:
            out.dead_letters.append(
                event_dead_letter(
                    event,
                    kind=INVALID,
                    contract=violation.contract,
                    field_name=violation.field,
                    reason=violation.reason,
                    batch_id=out.batch_id,
                    **ctx,
                )
            )
            continue
        out.events.append(event)
    return out


# --- chunking: the unit that flows through the pipeline --------------------------------------------


def shard_of(event_id: str, shards: int) -> int:
    """Stable shard of an event id (crc32: the same in every process, unlike ``hash``)."""
    return zlib.crc32(event_id.encode("utf-8")) % shards if shards > 1 else 0


def window_start_us(ts_us: int, size_s: int) -> int:
    size = size_s * 1_000_000
    return ts_us - ts_us % size


def chunk_events(
    events: Iterable[dict[str, Any]], window_s: int, shards: int
) -> dict[tuple[int, int], list[dict[str, Any]]]:
    """Split events by (event-time window start in µs, dedupe shard).

    Events of one chunk share one fixed window, so a chunk can travel as one element
    with one event timestamp and still land in exactly the windows its events belong to.
    """
    chunks: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        ts = to_micros(event["event_ts"])
        chunks[(window_start_us(ts, window_s), shard_of(event["event_id"], shards))].append(event)
    return dict(chunks)


# --- a cheap look at the envelope (for counting while draining) --------------------------------------


def _read_long(buf: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
    return (result >> 1) ^ -(result & 1), pos


def count_events(payload: bytes) -> int:
    """Number of events in an encoded batch, read from the envelope without decoding the events.

    Follows the Avro binary layout of ``AppEventBatch`` (two strings, a long, then the
    array's blocks); returns 0 for bytes that do not parse (the pipeline dead-letters them).
    """
    try:
        pos = 0
        for _ in range(2):  # batch_id, producer
            n, pos = _read_long(payload, pos)
            if n < 0:  # a negative length is not Avro (and would move the cursor backwards)
                return 0
            pos += n
        _, pos = _read_long(payload, pos)  # created_ts
        total = 0
        while True:
            n, pos = _read_long(payload, pos)
            if n == 0:
                return total
            if n < 0:  # block with a byte size: skip it
                n = -n
                size, pos = _read_long(payload, pos)
                if size < 0:  # would point backwards: read naively, this loops forever
                    return 0
                pos += size
                total += n
                continue
            # a block without a byte size (what fastavro writes: one block, then 0):
            # the items would have to be decoded to find the next block
            return total + n
    except (IndexError, struct.error):
        return 0
