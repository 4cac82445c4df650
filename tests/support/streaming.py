"""What the streaming tests build their input from: a start instant, AppEvents and Pub/Sub messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from apache_beam.io.gcp.pubsub import PubsubMessage

from contracts.app_event_codec import encode_batch

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
BASE = T0.timestamp()  # seconds; TestStream timestamps are in seconds


def event(n: int | str, sec: float, **overrides: Any) -> dict[str, Any]:
    """A valid AppEvent ``sec`` seconds after T0 (purchase events get a price)."""
    etype = overrides.get("event_type", "open")
    price = 2.5 if etype == "purchase" else None
    record = {
        "event_id": f"e{n}",
        "event_ts": T0 + timedelta(seconds=sec),
        "user_id": "u1",
        "country": "DE",
        "platform": "ios",
        "app_id": "app1",
        "event_type": etype,
        "session_id": "s1",
        "price": price,
        "currency": "EUR" if price is not None else None,
        "revenue_usd": 2.75 if price is not None else None,
        "rating": None,
        "app_version": "1.0",
        "device": "iphone",
        "os_version": "17.1",
    }
    record.update(overrides)
    return record


def message(events: list[dict[str, Any]], n: int, publish: datetime = T0) -> PubsubMessage:
    return PubsubMessage(
        encode_batch(events, f"batch-{n}", "tests", T0),
        {"producer": "tests"},
        message_id=f"m{n}",
        publish_time=publish,
    )


def raw_message(payload: bytes, n: int) -> PubsubMessage:
    return PubsubMessage(payload, {"producer": "tests"}, message_id=f"m{n}", publish_time=T0)
