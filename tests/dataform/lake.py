"""Tiny bronze inputs for the Dataform tests, written where the warehouse reads them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from contracts.sales import SALES_LINE_SCHEMA

APP_EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("event_ts", pa.timestamp("us", tz="UTC")),
        ("user_id", pa.string()),
        ("country", pa.string()),
        ("platform", pa.string()),
        ("app_id", pa.string()),
        ("event_type", pa.string()),
        ("session_id", pa.string()),
        ("price", pa.float64()),
        ("currency", pa.string()),
        ("revenue_usd", pa.float64()),
        ("rating", pa.int32()),
        ("app_version", pa.string()),
        ("device", pa.string()),
        ("os_version", pa.string()),
    ]
)


def ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def sale(order_id: str, line_no: int, order_ts: str, customer_id: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "order_id": order_id,
        "line_no": line_no,
        "order_ts": ts(order_ts),
        "customer_id": customer_id,
        "customer_country": "DE",
        "customer_segment": "consumer",
        "store_id": "s-1",
        "channel": "web",
        "status": "completed",
        "currency": "EUR",
        "fx_rate_to_usd": 1.1,
        "product_id": "p-1",
        "product_name": "Kettle",
        "category": "kitchen",
        "quantity": 1,
        "unit_price": 10.0,
        "discount": 0.0,
    }
    row.update(overrides)
    return row


def write_sales(lake: Path, day: str, rows: list[dict[str, Any]]) -> None:
    folder = lake / "bronze" / "sales" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=SALES_LINE_SCHEMA), folder / "part-00000.parquet")


def click(
    event_id: str, event_ts: str, anonymous_id: str, event_type: str = "page_view", **overrides: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": event_id,
        "event_ts": event_ts,
        "session_id": f"s-{anonymous_id}",
        "anonymous_id": anonymous_id,
        "customer_id": None,
        "event_type": event_type,
        "page_url": f"/{event_id}",
        "referrer": None,
        "product_id": None,
        "search_query": None,
        "device": "mobile",
        "user_agent": None,
        "country": "DE",
    }
    row.update(overrides)
    return row


def write_jsonl(lake: Path, prefix: str, records: list[dict[str, Any]]) -> None:
    path = lake / prefix / "part-00000.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def write_clickstream(lake: Path, day: str, records: list[dict[str, Any]]) -> None:
    write_jsonl(lake, f"bronze/clickstream/dt={day}", records)


def startup(startup_id: str, updated_at: str, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "startup_id": startup_id,
        "name": f"Startup {startup_id}",
        "sector": "ai",
        "country": "FR",
        "city": "Paris",
        "founded_date": "2020-01-15",
        "status": "active",
        "last_round": "seed",
        "last_round_date": "2023-05-01",
        "total_funding_usd": 1000000,
        "employees": 10,
        "website": None,
        "updated_at": updated_at,
    }
    row.update(overrides)
    return row


def write_startups(lake: Path, load_type: str, day: str, records: list[dict[str, Any]]) -> None:
    write_jsonl(lake, f"bronze/startups/load_type={load_type}/dt={day}", records)


def app_event(
    event_id: str, event_ts: str, country: str = "DE", platform: str = "ios", **overrides: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": event_id,
        "event_ts": ts(event_ts),
        "user_id": "u-1",
        "country": country,
        "platform": platform,
        "app_id": "app-1",
        "event_type": "open",
        "session_id": "as-1",
        "price": None,
        "currency": None,
        "revenue_usd": None,
        "rating": None,
        "app_version": "1.0",
        "device": "pixel",
        "os_version": "14",
    }
    row.update(overrides)
    return row


def write_app_events(lake: Path, day: str, hour: int, rows: list[dict[str, Any]]) -> None:
    """One streaming file of ``day`` (the lake is partitioned by day; files are named by window)."""
    folder = lake / "lake" / "app_events" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"part-{day.replace('-', '')}T{hour:02d}00-000-test.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=APP_EVENT_SCHEMA), folder / name)
