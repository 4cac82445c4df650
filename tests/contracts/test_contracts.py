"""The contracts module: loading, validation with field-level reasons, the Avro batch codec."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

import contracts
from contracts import ContractViolation, validate
from contracts.app_event_codec import decode_batch, encode_batch


def _event(**over: Any) -> dict[str, Any]:
    event = {
        "event_id": "e-1",
        "event_ts": datetime(2026, 1, 1, 12, tzinfo=UTC),
        "user_id": "u-1",
        "country": "DE",
        "platform": "ios",
        "app_id": "app-1",
        "event_type": "open",
        "session_id": "s-1",
        "app_version": "1.2.0",
        "device": "iphone",
        "os_version": "17.1",
    }
    event.update(over)
    return event


def _click(**over: Any) -> dict[str, Any]:
    click = {
        "event_id": "c-1",
        "event_ts": "2026-01-01T10:00:00Z",
        "session_id": "s",
        "anonymous_id": "a",
        "customer_id": None,
        "event_type": "page_view",
        "page_url": "/",
        "device": "mobile",
        "country": "FR",
    }
    click.update(over)
    return click


def test_valid_records_pass() -> None:
    validate("app_event", _event())
    validate("app_event", _event(event_type="purchase", price=0.99, currency="EUR", revenue_usd=1.07))
    validate("clickstream_event", _click())


@pytest.mark.parametrize(
    ("record", "field", "words"),
    [
        (_event(country="de"), "country", "ISO-3166"),
        (_event(platform="symbian"), "platform", "symbian"),
        (_event(event_type="purchase"), "price", "non-negative price"),
        (_event(event_type="purchase", price=-1.0, currency="EUR"), "price", "non-negative"),
        (_event(event_type="review", rating=9), "rating", "1..5"),
        ({k: v for k, v in _event().items() if k != "user_id"}, "user_id", ""),
    ],
)
def test_app_event_violations_name_the_field(record: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ContractViolation) as info:
        validate("app_event", record)
    assert info.value.field == field
    assert words in str(info.value)
    assert str(info.value).startswith("app_event: field")


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({k: v for k, v in _click().items() if k != "event_ts"}, "event_ts"),
        (_click(country="France"), "country"),
        (_click(event_type="teleport"), "event_type"),
        (_click(event_ts="yesterday"), "event_ts"),
    ],
)
def test_clickstream_violations_name_the_field(record: dict[str, Any], field: str) -> None:
    with pytest.raises(ContractViolation) as info:
        validate("clickstream_event", record)
    assert info.value.field == field


def test_unknown_contract_is_an_error() -> None:
    with pytest.raises(KeyError):
        validate("nope", {})


def test_batch_codec_round_trips_and_rejects_truncation() -> None:
    events = [_event(event_id=f"e-{i}") for i in range(3)]
    payload = encode_batch(events, "b-1", "test", datetime(2026, 1, 1, tzinfo=UTC))
    batch = decode_batch(payload)
    assert batch["batch_id"] == "b-1" and [e["event_id"] for e in batch["events"]] == ["e-0", "e-1", "e-2"]
    assert batch["events"][0]["event_ts"] == events[0]["event_ts"]
    with pytest.raises(Exception):  # noqa: B017 - any decode error is a dead letter downstream
        decode_batch(payload[:-5])
    with pytest.raises(ValueError, match="trailing"):
        decode_batch(payload + b"\x00\x01")


def test_sales_schema_covers_the_order_document() -> None:
    names = set(contracts.SALES_LINE_SCHEMA.names)
    order_level = set(contracts.ORDER_DOCUMENT_FIELDS) - {"items"}
    assert order_level <= names
    assert set(contracts.ORDER_ITEM_FIELDS) <= names
    assert not any(f.nullable for f in contracts.SALES_LINE_SCHEMA)


@pytest.mark.parametrize(
    ("record", "field", "words"),
    [
        (_event(event_id=""), "event_id", "non-empty"),
        (_event(event_ts=datetime(1970, 1, 1, tzinfo=UTC)), "event_ts", "out of range"),
        (_event(event_ts=datetime(2100, 1, 1, tzinfo=UTC)), "event_ts", "out of range"),
        (_event(event_ts=2**62), "event_ts", "µs since the epoch"),
        (_event(event_type="view", price=-3.0), "price", "non-negative"),
        (_event(event_type="view", revenue_usd=float("nan")), "revenue_usd", "finite"),
        (_event(event_type="purchase", price=float("inf"), currency="EUR"), "price", "finite"),
    ],
)
def test_app_event_times_and_amounts_out_of_range_name_the_field(
    record: dict[str, Any], field: str, words: str
) -> None:
    """Bad-input drill: an empty event id (the dedupe key: two such events became one), a 1970
    device clock, a long no datetime holds, a negative or NaN amount on any event type were
    accepted (and opened far-away lake partitions or summed NaN revenue)."""
    with pytest.raises(ContractViolation) as info:
        validate("app_event", record)
    assert info.value.field == field and words in info.value.reason


@pytest.mark.parametrize(
    ("record", "field", "words"),
    [
        (_click(page_url="/a\ud800b"), "page_url", "not valid Unicode"),
        (_click(customer_id=float("nan")), "customer_id", "not a finite number"),
    ],
)
def test_json_values_no_reader_can_take_name_the_field(
    record: dict[str, Any], field: str, words: str
) -> None:
    """Bad-input drill: a lone surrogate (``\\ud800`` is valid JSON text) and a non-finite number
    passed the JSON Schema check, and then broke the external table over the whole bronze folder."""
    with pytest.raises(ContractViolation) as info:
        validate("clickstream_event", record)
    assert info.value.field == field and words in info.value.reason


def test_a_timestamp_beyond_datetime_stays_a_raw_long_and_the_batch_still_decodes() -> None:
    events = [_event(event_id="e-0"), _event(event_id="e-1", event_ts=2**62), _event(event_id="e-2")]
    batch = decode_batch(encode_batch(events, "b-1", "test", datetime(2026, 1, 1, tzinfo=UTC)))
    assert [e["event_ts"] for e in batch["events"]] == [events[0]["event_ts"], 2**62, events[2]["event_ts"]]
    assert batch["created_ts"] == datetime(2026, 1, 1, tzinfo=UTC)


def test_an_unexpected_field_is_named() -> None:
    with pytest.raises(ContractViolation) as info:
        validate("clickstream_event", _click(coupon="FREE"))
    assert info.value.field == "coupon" and "coupon" in info.value.reason
