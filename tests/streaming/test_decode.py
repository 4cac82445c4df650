"""decode.py: messages become events or dead letters, never an exception, never a loss."""

from __future__ import annotations

import base64
import io
import zlib
from typing import Any

import fastavro
import pytest

from contracts import load_avro_schema
from contracts.app_event_codec import encode_batch
from streaming.decode import (
    INVALID,
    PAYLOAD_BATCH,
    PAYLOAD_EVENT,
    UNDECODABLE,
    chunk_events,
    count_events,
    decode_message,
    shard_of,
    to_micros,
)
from streaming.sinks import deadletter_dt
from tests.support.streaming import T0, event


def test_valid_batch_decodes_every_event() -> None:
    events = [event(i, i) for i in range(5)]
    out = decode_message(encode_batch(events, "b1", "p", T0), message_id="m1")
    assert [e["event_id"] for e in out.events] == [f"e{i}" for i in range(5)]
    assert out.dead_letters == []
    assert out.batch_id == "b1"


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"garbage \x00\xff bytes",
        encode_batch([event(1, 0)], "b", "p", T0)[:-3],
        encode_batch([], "b", "p", T0) + b"x",
    ],
    ids=["empty", "garbage", "truncated", "trailing-bytes"],
)
def test_undecodable_message_is_one_dead_letter_with_the_whole_payload(payload: bytes) -> None:
    out = decode_message(payload, message_id="m9", attributes={"a": "1"}, publish_time=T0)
    assert out.events == []
    [dl] = out.dead_letters
    assert dl["kind"] == UNDECODABLE
    assert dl["field"] == "<message>" and dl["reason"]
    assert base64.b64decode(dl["payload_b64"]) == payload
    assert dl["payload_encoding"] == PAYLOAD_BATCH
    assert (dl["message_id"], dl["attributes"], dl["publish_time"]) == (
        "m9",
        {"a": "1"},
        "2026-01-05T10:00:00Z",
    )


def test_invalid_events_are_dead_lettered_alone_and_neighbours_survive() -> None:
    events = [
        event(1, 0),
        event(2, 1, country="xx"),
        event(3, 2, event_type="purchase", price=-1.0),
        event(4, 3, rating=9),
        event(5, 4),
    ]
    out = decode_message(encode_batch(events, "b7", "p", T0), message_id="m7", attributes={"k": "v"})
    assert [e["event_id"] for e in out.events] == ["e1", "e5"]
    by_id = {d["event_id"]: d for d in out.dead_letters}
    assert {k: (v["field"], v["kind"]) for k, v in by_id.items()} == {
        "e2": ("country", INVALID),
        "e3": ("price", INVALID),
        "e4": ("rating", INVALID),
    }
    # events in = valid + dead letters
    assert len(out.events) + len(out.dead_letters) == len(events)
    # the raw payload of an event dead letter is that event, Avro-encoded, and it round-trips
    dl = by_id["e2"]
    assert dl["payload_encoding"] == PAYLOAD_EVENT
    back: Any = fastavro.schemaless_reader(
        io.BytesIO(base64.b64decode(dl["payload_b64"])), load_avro_schema("app_event"), None
    )
    assert back["event_id"] == "e2" and back["country"] == "xx"
    assert (dl["message_id"], dl["attributes"], dl["batch_id"]) == ("m7", {"k": "v"}, "b7")
    assert dl["event"]["event_ts"] == "2026-01-05T10:00:01Z"
    assert "ISO-3166" in dl["reason"]


def test_count_events_reads_the_envelope() -> None:
    assert count_events(encode_batch([event(i, i) for i in range(37)], "b", "p", T0)) == 37
    assert count_events(encode_batch([], "b", "p", T0)) == 0
    assert count_events(b"\xff") == 0


def test_chunks_split_by_minute_and_shard() -> None:
    events = [event(i, s) for i, s in enumerate([0, 30, 59, 60, 61, 3599, 3600])]
    chunks = chunk_events(events, 60, 1)
    minute = 60 * 1_000_000
    t0 = to_micros(T0)
    assert {k: [e["event_id"] for e in v] for k, v in chunks.items()} == {
        (t0, 0): ["e0", "e1", "e2"],
        (t0 + minute, 0): ["e3", "e4"],
        (t0 + 59 * minute, 0): ["e5"],
        (t0 + 60 * minute, 0): ["e6"],
    }
    sharded = chunk_events(events, 60, 4)
    assert sum(len(v) for v in sharded.values()) == len(events)
    assert all(shard_of(e["event_id"], 4) == shard for (_, shard), v in sharded.items() for e in v)


def test_shard_is_stable_across_processes() -> None:
    # crc32, not hash(): the value is fixed, whatever PYTHONHASHSEED says
    assert shard_of("e1", 16) == zlib.crc32(b"e1") % 16
    assert shard_of("anything", 1) == 0


@pytest.mark.parametrize("event_ts", [2**62, -(2**62), 0], ids=["year-146k", "before-year-1", "1970"])
def test_an_out_of_range_event_time_dead_letters_that_event_only(event_ts: int) -> None:
    """Bad-input drill: a timestamp-micros long no datetime holds made the whole batch undecodable
    (its good neighbours dead-lettered, the reason naming no field)."""
    bad = {**event(1, 0), "event_ts": event_ts}
    out = decode_message(encode_batch([event(0, 0), bad, event(2, 0)], "b", "p", T0), publish_time=T0)
    assert [e["event_id"] for e in out.events] == ["e0", "e2"]
    [dl] = out.dead_letters
    assert (dl["kind"], dl["field"], dl["event_id"]) == (INVALID, "event_ts", "e1")
    assert "out of range" in dl["reason"]
    assert deadletter_dt(dl) == "2026-01-05"  # filed under its message's day, not 1970 or nowhere
