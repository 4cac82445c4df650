"""Deterministic synthetic app events and encoded batches, for tests and benchmarks.

(The platform's real producer is ``publish_app_events``; this only makes valid records of
the contract's shape, spread evenly over a time range.)
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.app_event_codec import encode_batch

COUNTRIES = ("US", "DE", "IN", "BR", "JP", "FR", "NG", "ID")
PLATFORMS = ("ios", "android", "web")
EVENT_TYPES = ("install", "open", "view", "search", "purchase", "review", "update", "uninstall")
DEVICES = {"ios": "iphone", "android": "pixel", "web": "desktop"}


def sample_events(
    n: int, start: datetime, span_s: float, seed: int = 7, prefix: str = "ev"
) -> list[dict[str, Any]]:
    """``n`` valid AppEvent records with event times spread over ``[start, start + span_s)``."""
    rng = random.Random(seed)
    events = []
    for i in range(n):
        platform = PLATFORMS[i % 3]
        etype = EVENT_TYPES[rng.randrange(len(EVENT_TYPES))]
        price = round(rng.uniform(0.99, 9.99), 2) if etype == "purchase" else None
        events.append(
            {
                "event_id": f"{prefix}-{seed}-{i:08d}",
                "event_ts": start + timedelta(microseconds=int(i * span_s * 1e6 / max(n, 1))),
                "user_id": f"u{rng.randrange(10_000)}",
                "country": COUNTRIES[rng.randrange(len(COUNTRIES))],
                "platform": platform,
                "app_id": f"app{rng.randrange(50)}",
                "event_type": etype,
                "session_id": f"s{rng.randrange(100_000)}",
                "price": price,
                "currency": "USD" if price is not None else None,
                "revenue_usd": price,
                "rating": rng.randint(1, 5) if etype == "review" else None,
                "app_version": "3.2.1",
                "device": DEVICES[platform],
                "os_version": "17.1",
            }
        )
    return events


def batches(events: Sequence[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(events), size):
        yield list(events[i : i + size])


def encoded_batches(
    events: Sequence[dict[str, Any]], size: int, producer: str = "samples", created_ts: datetime | None = None
) -> list[bytes]:
    """Encode ``events`` as ``AppEventBatch`` payloads of ``size`` events each."""
    created = created_ts or datetime(2026, 1, 1, tzinfo=UTC)
    return [
        encode_batch(b, f"{producer}-{i:06d}", producer, created) for i, b in enumerate(batches(events, size))
    ]
