"""Small hand-built records that satisfy (or deliberately break) the contracts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any


def order(day: date, n: int, **overrides: Any) -> dict[str, Any]:
    ts = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=7 * n)
    doc: dict[str, Any] = {
        "order_id": f"SO-{day:%Y%m%d}-{n:05d}",
        "order_ts": ts,
        "customer_id": f"C{n:05d}",
        "customer_country": "DE",
        "customer_segment": "regular",
        "store_id": "ONLINE-DE",
        "channel": "web",
        "status": "completed",
        "currency": "EUR",
        "fx_rate_to_usd": 1.1,
        "items": [
            {
                "line_no": 1,
                "product_id": "P001",
                "product_name": "Kettle",
                "category": "home",
                "quantity": 2,
                "unit_price": 10.0,
                "discount": 1.0,
            },
            {
                "line_no": 2,
                "product_id": "P002",
                "product_name": "Mug",
                "category": "home",
                "quantity": 1,
                "unit_price": 5.5,
                "discount": 0.0,
            },
        ],
    }
    doc.update(overrides)
    return doc


def orders_for(day: date, count: int = 3) -> list[dict[str, Any]]:
    return [order(day, n) for n in range(1, count + 1)]


def click(day: date, n: int, **overrides: Any) -> dict[str, Any]:
    ts = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=61 * n)
    rec: dict[str, Any] = {
        "event_id": f"ck-{day:%Y%m%d}-{n:05d}",
        "event_ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "session_id": f"s-{n // 5}",
        "anonymous_id": f"a-{n // 5}",
        "customer_id": None,
        "event_type": "page_view",
        "page_url": f"/p/{n}",
        "referrer": None,
        "product_id": None,
        "search_query": None,
        "device": "mobile",
        "user_agent": None,
        "country": "FR",
    }
    rec.update(overrides)
    return rec


def clicks_for(day: date, count: int = 20) -> list[dict[str, Any]]:
    return [click(day, n) for n in range(count)]


def startup(n: int, updated_at: str, **overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "startup_id": f"st-{n:04d}",
        "name": f"Startup {n}",
        "sector": "fintech",
        "country": "GB",
        "city": None,
        "founded_date": "2019-05-01",
        "status": "active",
        "last_round": "seed",
        "last_round_date": None,
        "total_funding_usd": 1_000_000.0 + n,
        "employees": 10 + n,
        "website": None,
        "updated_at": updated_at,
    }
    rec.update(overrides)
    return rec


def app_event(n: int, ts: datetime, **overrides: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "event_id": f"ev-{n:06d}",
        "event_ts": ts,
        "user_id": f"u-{n % 17}",
        "country": "IN",
        "platform": "android",
        "app_id": f"app-{n % 5:05d}",
        "event_type": "open",
        "session_id": f"s-{n % 11}",
        "price": None,
        "currency": None,
        "revenue_usd": None,
        "rating": None,
        "app_version": "1.2.3",
        "device": "pixel",
        "os_version": "14",
    }
    rec.update(overrides)
    return rec
