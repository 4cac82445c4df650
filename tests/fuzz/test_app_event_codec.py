"""The Avro batch codec and the streaming decoder that uses it.

Properties: ``decode_batch(encode_batch(x)) == x``; ``decode_message`` never raises on any bytes
(garbage or a mutated real batch becomes one ``undecodable`` dead letter carrying the payload and a
reason); per-event validation splits a batch so that events in = valid out + dead letters, each
dead letter naming the field; ``count_events`` agrees with the batch and always terminates with a
non-negative count; ``chunk_events`` puts every event in exactly one chunk of its window and shard.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from contracts import validate
from contracts.app_event_codec import decode_batch, encode_batch
from streaming.decode import (
    INVALID,
    UNDECODABLE,
    chunk_events,
    count_events,
    decode_message,
    from_micros,
    to_micros,
)
from tests.fuzz.strategies import fuzz, mutate, upper_country, utc_datetimes

PLATFORMS = ["ios", "android", "web"]
EVENT_TYPES = ["install", "open", "view", "search", "purchase", "review", "update", "uninstall"]
FIELDS = {
    "event_id", "event_ts", "user_id", "country", "platform", "app_id", "event_type", "session_id",
    "price", "currency", "revenue_usd", "rating", "app_version", "device", "os_version",
}  # fmt: skip

finite = st.floats(allow_nan=False, allow_infinity=False)
amounts = st.floats(min_value=0, allow_nan=False, allow_infinity=False)
#: the event times the contract accepts: 2000-01-01 <= event_ts < 2100-01-01
event_times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59), timezones=st.just(UTC)
)
short = st.text(max_size=12)


@st.composite
def avro_events(draw: Any) -> dict[str, Any]:
    """Any value the Avro schema accepts (not necessarily valid by the contract's extra rules)."""
    return {
        "event_id": draw(short),
        "event_ts": draw(utc_datetimes),
        "user_id": draw(short),
        "country": draw(st.text(max_size=3)),
        "platform": draw(st.sampled_from(PLATFORMS)),
        "app_id": draw(short),
        "event_type": draw(st.sampled_from(EVENT_TYPES)),
        "session_id": draw(short),
        "price": draw(st.none() | finite),
        "currency": draw(st.none() | short),
        "revenue_usd": draw(st.none() | finite),
        "rating": draw(st.none() | st.integers(min_value=-(2**31), max_value=2**31 - 1)),
        "app_version": draw(short),
        "device": draw(short),
        "os_version": draw(short),
    }


@st.composite
def valid_events(draw: Any) -> dict[str, Any]:
    """Events the ``app_event`` contract accepts."""
    event = draw(avro_events())
    event["event_id"] = draw(st.text(min_size=1, max_size=12))
    event["event_ts"] = draw(event_times)
    event["country"] = draw(upper_country)
    event["rating"] = draw(st.none() | st.integers(min_value=1, max_value=5))
    event["price"] = draw(st.none() | amounts)
    event["revenue_usd"] = draw(st.none() | amounts)
    if event["event_type"] == "purchase":
        event["price"] = draw(amounts)
        event["currency"] = draw(st.text(min_size=1, max_size=3))
    return event


#: (event, the field the contract must name) for events broken in exactly one way
@st.composite
def invalid_events(draw: Any) -> tuple[dict[str, Any], str]:
    event = draw(valid_events())
    how = draw(
        st.sampled_from(["event_id", "event_ts", "country", "rating", "price", "revenue_usd", "currency"])
    )
    if how == "event_id":
        event["event_id"] = ""
    elif how == "event_ts":  # before 2000, from 2100, or a long no datetime holds
        event["event_ts"] = draw(
            st.datetimes(max_value=datetime(1999, 12, 31, 23, 59), timezones=st.just(UTC))
            | st.datetimes(min_value=datetime(2100, 1, 1), timezones=st.just(UTC))
            | st.integers(min_value=253_402_300_800_000_000, max_value=2**63 - 1)
            | st.integers(min_value=-(2**63), max_value=-62_135_596_800_000_001)
        )
    if how == "country":
        event["country"] = draw(st.text(max_size=4).filter(lambda c: not (len(c) == 2 and c.isalpha())))
    elif how == "rating":
        event["rating"] = draw(
            st.integers(min_value=6, max_value=2**31 - 1) | st.integers(max_value=0, min_value=-(2**31))
        )
    elif how == "price":
        event["event_type"] = "purchase"
        event["currency"] = "USD"
        event["price"] = draw(st.none() | st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False))
    elif how == "revenue_usd":  # any event type: NaN, infinite or negative
        event["revenue_usd"] = draw(
            st.just(float("nan")) | st.just(float("inf")) | st.floats(max_value=-1e-9, allow_infinity=False)
        )
    else:
        event["event_type"] = "purchase"
        event["price"] = 1.0
        event["currency"] = draw(st.sampled_from([None, ""]))
    return event, how


batch_meta = st.tuples(short, short, utc_datetimes)


@fuzz(150)
@given(st.lists(avro_events(), max_size=5), batch_meta)
def test_decode_inverts_encode(events: list[dict[str, Any]], meta: tuple[str, str, Any]) -> None:
    batch_id, producer, created = meta
    decoded = decode_batch(encode_batch(events, batch_id, producer, created))
    assert decoded == {"batch_id": batch_id, "producer": producer, "created_ts": created, "events": events}


def _check_undecodable(payload: bytes, result: Any) -> None:
    assert result.events == []
    assert len(result.dead_letters) == 1
    dead = result.dead_letters[0]
    assert dead["kind"] == UNDECODABLE and dead["field"] == "<message>"
    assert dead["reason"] and ":" in dead["reason"]
    assert base64.b64decode(dead["payload_b64"]) == payload  # nothing is lost


@fuzz(300)
@given(st.binary(max_size=200))
def test_decode_message_never_raises_on_garbage(payload: bytes) -> None:
    result = decode_message(payload, message_id="m-1")
    if result.dead_letters and result.dead_letters[0]["kind"] == UNDECODABLE:
        _check_undecodable(payload, result)
    else:  # garbage that happens to be a batch: every event accounted for
        assert len(result.events) + len(result.dead_letters) == len(decode_batch(payload)["events"])


@fuzz(300)
@given(st.lists(avro_events(), min_size=1, max_size=4), batch_meta, st.data())
def test_mutated_batches_decode_or_dead_letter(
    events: list[dict[str, Any]], meta: tuple[str, str, Any], data: st.DataObject
) -> None:
    payload = mutate(encode_batch(events, *meta), data.draw)
    result = decode_message(payload)
    if result.dead_letters and result.dead_letters[0]["kind"] == UNDECODABLE:
        _check_undecodable(payload, result)
    else:
        assert len(result.events) + len(result.dead_letters) == len(decode_batch(payload)["events"])
    assert count_events(payload) >= 0


@fuzz(150)
@given(
    st.lists(
        st.one_of(valid_events().map(lambda e: (e, None)), invalid_events()),
        max_size=6,
    ),
    batch_meta,
)
def test_counts_add_up_and_dead_letters_name_the_field(
    mixed: list[tuple[dict[str, Any], str | None]], meta: tuple[str, str, Any]
) -> None:
    events = [e for e, _ in mixed]
    result = decode_message(encode_batch(events, *meta), message_id="m-2")
    assert len(result.events) + len(result.dead_letters) == len(events)
    assert result.events == [e for e, broken in mixed if broken is None]
    assert [d["field"] for d in result.dead_letters] == [b for _, b in mixed if b is not None]
    for dead in result.dead_letters:
        assert dead["kind"] == INVALID and dead["reason"] and dead["field"] in FIELDS
        assert dead["batch_id"] == meta[0] and dead["message_id"] == "m-2"
    for event in result.events:
        validate("app_event", event)


@fuzz(150)
@given(st.lists(avro_events(), max_size=6), batch_meta)
def test_count_events_matches_the_batch(events: list[dict[str, Any]], meta: tuple[str, str, Any]) -> None:
    assert count_events(encode_batch(events, *meta)) == len(events)


@fuzz(400)
@given(st.binary(max_size=64))
def test_count_events_terminates_on_garbage(payload: bytes) -> None:
    n = count_events(payload)
    assert isinstance(n, int) and n >= 0


def test_count_events_rejects_blocks_that_point_backwards() -> None:
    # empty batch_id, producer, created_ts 0, then a block of -1 items whose byte size (-2)
    # points back at the block itself: read naively this loops forever.
    assert count_events(bytes([0, 0, 0, 1, 3])) == 0
    # a negative string length must not move the cursor backwards either
    assert count_events(bytes([1, 0, 0, 2, 0])) == 0


@fuzz(200)
@given(
    st.lists(
        st.fixed_dictionaries(
            {"event_id": st.text(max_size=8), "event_ts": utc_datetimes | st.integers(0, 2**62)}
        ),
        max_size=20,
    ),
    st.integers(min_value=1, max_value=3600),
    st.integers(min_value=1, max_value=16),
)
def test_chunk_events_keeps_every_event_once(
    events: list[dict[str, Any]], window_s: int, shards: int
) -> None:
    chunks = chunk_events(events, window_s, shards)
    assert sum(len(c) for c in chunks.values()) == len(events)
    seen = [id(e) for c in chunks.values() for e in c]
    assert sorted(seen) == sorted(id(e) for e in events)
    for (start, shard), chunk in chunks.items():
        assert 0 <= shard < shards
        for event in chunk:
            assert start <= to_micros(event["event_ts"]) < start + window_s * 1_000_000


@fuzz(200)
@given(st.integers(min_value=0, max_value=253_402_300_799_999_999))  # the datetime range
def test_micros_round_trip(us: int) -> None:
    assert to_micros(from_micros(us)) == us
