"""A small vectorised synthesiser of bronze history for the Dataform benchmarks.

One call writes one day of every flow in the lake layout the warehouse reads: sales (Parquet,
``contracts.sales.SALES_LINE_SCHEMA``), clickstream (JSONL), app events (Parquet per hour) and,
on the first day / on Fridays, the startups full load / delta (JSONL). Values are random but
valid and deterministic for a seed, with a few duplicates so that dedupe paths do work.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from contracts.sales import CHANNELS, CURRENCIES, SALES_LINE_SCHEMA

COUNTRIES = np.array(["US", "DE", "FR", "GB", "BR", "IN", "JP", "ES", "IT", "NL"])
SEGMENTS = np.array(["consumer", "smb", "enterprise"])
CATEGORIES = np.array(["books", "electronics", "garden", "toys", "fashion"])
FX = dict(zip(CURRENCIES, (1.0, 1.08, 1.27, 0.0067, 0.2, 0.012), strict=True))
SECTORS = np.array(["fintech", "healthtech", "saas", "ai", "climate"])
PLATFORMS = np.array(["ios", "android", "web"])
APP_EVENT_TYPES = np.array(["install", "open", "view", "search", "purchase", "review"])
WEB_EVENT_TYPES = np.array(["page_view", "product_view", "add_to_cart", "checkout", "purchase"])


def _day_seconds(rng: np.random.Generator, day: dt.date, n: int) -> np.ndarray:
    start = np.datetime64(day.isoformat(), "us")
    return start + (rng.integers(0, 86_400, n) * 1_000_000).astype("timedelta64[us]")


def write_sales(
    lake: Path, day: dt.date, orders: int, rng: np.random.Generator, customers: int = 2000
) -> int:
    lines_per_order = rng.integers(1, 4, orders)
    n = int(lines_per_order.sum())
    order_idx = np.repeat(np.arange(orders), lines_per_order)
    line_no = np.concatenate([np.arange(1, k + 1) for k in lines_per_order]).astype(np.int32)
    order_ts = np.repeat(_day_seconds(rng, day, orders), lines_per_order)
    cust = np.repeat(rng.integers(0, customers, orders), lines_per_order)
    currency = np.repeat(rng.choice(np.array(CURRENCIES), orders), lines_per_order)
    product = rng.integers(0, 300, n)
    table = pa.table(
        {
            "order_id": [f"o-{day:%Y%m%d}-{i}" for i in order_idx],
            "line_no": line_no,
            "order_ts": pa.array(order_ts, pa.timestamp("us", tz="UTC")),
            "customer_id": [f"c-{c}" for c in cust],
            "customer_country": COUNTRIES[cust % len(COUNTRIES)],
            "customer_segment": SEGMENTS[cust % len(SEGMENTS)],
            "store_id": [f"s-{s}" for s in rng.integers(0, 20, n)],
            "channel": np.repeat(rng.choice(np.array(CHANNELS), orders), lines_per_order),
            "status": np.repeat(
                rng.choice(np.array(["completed"] * 8 + ["refunded", "cancelled"]), orders), lines_per_order
            ),
            "currency": currency,
            "fx_rate_to_usd": np.array([FX[c] for c in currency]),
            "product_id": [f"p-{p}" for p in product],
            "product_name": [f"Product {p}" for p in product],
            "category": CATEGORIES[product % len(CATEGORIES)],
            "quantity": rng.integers(1, 5, n).astype(np.int32),
            "unit_price": np.round(rng.uniform(1, 200, n), 2),
            "discount": np.round(rng.choice([0.0, 0.0, 0.1, 0.2], n), 2),
        },
        schema=SALES_LINE_SCHEMA,
    )
    folder = lake / "bronze" / "sales" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-00000.parquet")
    return n


def _write_jsonl(path: Path, records: Sequence[Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def write_clickstream(
    lake: Path, day: dt.date, events: int, rng: np.random.Generator, visitors: int = 3000
) -> int:
    ts = np.sort(_day_seconds(rng, day, events))
    visitor = rng.integers(0, visitors, events)
    kinds = rng.choice(WEB_EVENT_TYPES, events, p=[0.5, 0.25, 0.12, 0.08, 0.05])
    records = [
        {
            "event_id": f"e-{day:%Y%m%d}-{i}",
            "event_ts": f"{np.datetime_as_string(ts[i], unit='s')}Z",
            "session_id": f"s-{day:%Y%m%d}-{visitor[i]}",
            "anonymous_id": f"a-{visitor[i]}",
            "customer_id": f"c-{visitor[i]}" if visitor[i] % 3 == 0 else None,
            "event_type": str(kinds[i]),
            "page_url": f"/p/{i % 97}",
            "referrer": None,
            "product_id": None,
            "search_query": None,
            "device": "mobile" if visitor[i] % 2 else "desktop",
            "user_agent": None,
            "country": str(COUNTRIES[visitor[i] % len(COUNTRIES)]),
        }
        for i in range(events)
    ]
    records += records[:3]  # at-least-once duplicates
    _write_jsonl(lake / "bronze" / "clickstream" / f"dt={day}" / "part-00000.jsonl", records)
    return len(records)


def write_app_events(lake: Path, day: dt.date, events_per_hour: int, rng: np.random.Generator) -> int:
    """One Parquet file for the day: the lake as the daily ``compact_app_events`` job leaves it."""
    tables = []
    for hour in range(24):
        n = events_per_hour
        start = np.datetime64(f"{day.isoformat()}T{hour:02d}:00:00", "us")
        ts = start + (rng.integers(0, 3600, n) * 1_000_000).astype("timedelta64[us]")
        kind = rng.choice(APP_EVENT_TYPES, n, p=[0.1, 0.4, 0.3, 0.1, 0.05, 0.05])
        purchase = kind == "purchase"
        price = np.where(purchase, np.round(rng.uniform(0.99, 9.99, n), 2), np.nan)
        table = pa.table(
            {
                "event_id": [f"ae-{day:%Y%m%d}{hour:02d}-{i}" for i in range(n)],
                "event_ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "user_id": [f"u-{u}" for u in rng.integers(0, 5000, n)],
                "country": rng.choice(COUNTRIES, n),
                "platform": rng.choice(PLATFORMS, n),
                "app_id": [f"app-{a}" for a in rng.integers(0, 50, n)],
                "event_type": kind,
                "session_id": [f"as-{s}" for s in rng.integers(0, 20000, n)],
                "price": pa.array(price, from_pandas=True),
                "currency": pa.array([("USD" if p else None) for p in purchase], pa.string()),
                "revenue_usd": pa.array(price, from_pandas=True),
                "rating": pa.array([None] * n, pa.int32()),
                "app_version": ["1.0"] * n,
                "device": ["pixel"] * n,
                "os_version": ["14"] * n,
            }
        )
        tables.append(pa.concat_tables([table, table.slice(0, 2)]))  # at-least-once re-deliveries
    folder = lake / "lake" / "app_events" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    day_table = pa.concat_tables(tables)
    pq.write_table(day_table, folder / "compacted-synth.parquet")
    return day_table.num_rows


def write_startups(lake: Path, day: dt.date, load_type: str, startups: int, rng: np.random.Generator) -> int:
    ids = (
        np.arange(startups)
        if load_type == "full"
        else rng.choice(startups, max(1, startups // 10), replace=False)
    )
    records = [
        {
            "startup_id": f"st-{i}",
            "name": f"Startup {i}",
            "sector": str(SECTORS[i % len(SECTORS)]),
            "country": str(COUNTRIES[i % len(COUNTRIES)]),
            "city": None,
            "founded_date": "2015-06-01",
            "status": "active",
            "last_round": "seed",
            "last_round_date": None,
            "total_funding_usd": float(rng.integers(1, 100) * 100_000),
            "employees": int(rng.integers(1, 500)),
            "website": None,
            "updated_at": f"{day}T01:00:00Z",
        }
        for i in ids
    ]
    _write_jsonl(
        lake / "bronze" / "startups" / f"load_type={load_type}" / f"dt={day}" / "part-00000.jsonl", records
    )
    return len(records)


def write_day(lake: Path, day: dt.date, first_day: dt.date, seed: int, scale: float = 1.0) -> None:
    """Every flow's bronze for ``day`` (startups: full load on the first day, deltas on Fridays)."""
    rng = np.random.default_rng(seed + day.toordinal())
    write_sales(lake, day, int(300 * scale), rng)
    write_clickstream(lake, day, int(1000 * scale), rng)
    write_app_events(lake, day, int(100 * scale), rng)
    if day == first_day:
        write_startups(lake, day, "full", 200, rng)
    elif day.weekday() == 4:
        write_startups(lake, day, "delta", 200, rng)
