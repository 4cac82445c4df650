"""Given tiny bronze inputs, the marts hold exactly the expected rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.dataform.lake import (
    app_event,
    click,
    sale,
    ts,
    write_app_events,
    write_clickstream,
    write_sales,
)

Query = Callable[[str], list[dict[str, Any]]]


def _minimal_other_flows(lake: Path) -> None:
    """One app event, so the daily freshness checks of the other flows have something to look at."""
    write_app_events(lake, "2024-01-08", 10, [app_event("ae-1", "2024-01-08T10:05:00")])


def _sales_fixture(lake: Path) -> None:
    write_sales(
        lake,
        "2024-01-08",
        [
            sale("o1", 1, "2024-01-08T10:00:00", "c1", quantity=2, unit_price=10.0, discount=2.0),
            sale(
                "o1", 1, "2024-01-08T10:00:00", "c1", quantity=2, unit_price=10.0, discount=2.0
            ),  # re-delivered
            sale("o1", 2, "2024-01-08T10:00:00", "c1", product_id="p-2", product_name="Mug", unit_price=5.0),
            sale(
                "o2",
                1,
                "2024-01-08T12:00:00",
                "c2",
                status="refunded",
                currency="USD",
                fx_rate_to_usd=1.0,
                unit_price=100.0,
            ),
            sale("o3", 1, "2024-01-08T13:00:00", "c3", quantity=0),
            sale("o4", 1, "2024-01-08T14:00:00", "c4", status="lost"),
            # discount is an amount in the order's currency: more than the line is worth is invalid
            sale("o6", 1, "2024-01-08T15:00:00", "c4", quantity=1, unit_price=5.0, discount=6.0),
        ],
    )
    write_sales(
        lake,
        "2024-01-09",
        [
            sale(
                "o5",
                1,
                "2024-01-09T09:00:00",
                "c1",
                customer_segment="smb",
                customer_country="AT",
                unit_price=30.0,
            )
        ],
    )


def test_sales_marts_rejects_and_reconciliation(
    lake: Path, run_dataform: Callable[..., Any], query: Query
) -> None:
    _sales_fixture(lake)
    _minimal_other_flows(lake)
    result = run_dataform(tags=["daily"])
    assert result.action("assert_stg_sales__order_lines__reconciliation").status == "success"
    fct = query(
        "SELECT order_id, line_no, order_date, customer_id, order_status, gross_amount, net_amount, net_amount_usd "
        "FROM marts.fct_sales ORDER BY order_id, line_no"
    )
    assert fct == [
        {"order_id": "o1", "line_no": 1, "order_date": dt.date(2024, 1, 8), "customer_id": "c1",
         "order_status": "completed", "gross_amount": 20.0, "net_amount": 18.0, "net_amount_usd": 19.8},
        {"order_id": "o1", "line_no": 2, "order_date": dt.date(2024, 1, 8), "customer_id": "c1",
         "order_status": "completed", "gross_amount": 5.0, "net_amount": 5.0, "net_amount_usd": 5.5},
        {"order_id": "o2", "line_no": 1, "order_date": dt.date(2024, 1, 8), "customer_id": "c2",
         "order_status": "refunded", "gross_amount": 100.0, "net_amount": 100.0, "net_amount_usd": 100.0},
        {"order_id": "o5", "line_no": 1, "order_date": dt.date(2024, 1, 9), "customer_id": "c1",
         "order_status": "completed", "gross_amount": 30.0, "net_amount": 30.0, "net_amount_usd": 33.0},
    ]  # fmt: skip
    rejects = query(
        "SELECT order_id, reject_reason FROM staging.stg_sales__order_lines_rejects ORDER BY order_id"
    )
    assert rejects == [
        {"order_id": "o3", "reject_reason": "quantity must be a positive integer"},
        {"order_id": "o4", "reject_reason": "unknown status"},
        {"order_id": "o6", "reject_reason": "discount must be between 0 and the line amount"},
    ]
    counts = query(
        "SELECT COUNT(*) AS bronze, COUNTIF(reject_reason IS NULL AND copy_rank = 1) AS staged, "
        "COUNTIF(reject_reason IS NOT NULL) AS rejected, COUNTIF(reject_reason IS NULL AND copy_rank > 1) AS dups "
        "FROM staging.stg_sales__order_lines_checked".replace("COUNTIF(", "COUNT_IF(")
    )
    assert counts == [{"bronze": 8, "staged": 4, "rejected": 3, "dups": 1}]
    customers = query(
        "SELECT customer_id, customer_segment, country_code, first_order_date, last_order_date, "
        "completed_orders, lifetime_revenue_usd FROM marts.dim_customer ORDER BY customer_id"
    )
    assert customers == [
        {"customer_id": "c1", "customer_segment": "smb", "country_code": "AT", "first_order_date": dt.date(2024, 1, 8),
         "last_order_date": dt.date(2024, 1, 9), "completed_orders": 2, "lifetime_revenue_usd": 58.3},
        {"customer_id": "c2", "customer_segment": "consumer", "country_code": "DE",
         "first_order_date": dt.date(2024, 1, 8), "last_order_date": dt.date(2024, 1, 8), "completed_orders": 0,
         "lifetime_revenue_usd": 0.0},
    ]  # fmt: skip
    products = query("SELECT product_id, product_name FROM marts.dim_product ORDER BY product_id")
    assert products == [
        {"product_id": "p-1", "product_name": "Kettle"},
        {"product_id": "p-2", "product_name": "Mug"},
    ]
    days = query("SELECT MIN(date_day) AS lo, MAX(date_day) AS hi, COUNT(*) AS n FROM marts.dim_date")
    assert days == [{"lo": dt.date(2024, 1, 8), "hi": dt.date(2024, 2, 13), "n": 37}]


def test_clickstream_sessions_and_rejects(lake: Path, run_dataform: Callable[..., Any], query: Query) -> None:
    _sales_fixture(lake)
    _minimal_other_flows(lake)
    write_clickstream(
        lake,
        "2024-01-08",
        [
            click("e1", "2024-01-08T10:00:00Z", "a1"),
            click("e1", "2024-01-08T10:00:00Z", "a1"),  # duplicate delivery
            click("e2", "2024-01-08T10:10:00Z", "a1", "product_view"),
            click("e3", "2024-01-08T10:50:00Z", "a1"),  # 40 minutes later: a new session
            click("e4", "2024-01-08T11:00:00Z", "a1", "add_to_cart"),
            click("e5", "2024-01-08T12:00:00Z", "a2", customer_id="c9", country="FR"),
            click("e6", "yesterday", "a3"),
        ],
    )
    run_dataform(tags=["daily"])
    sessions = query(
        "SELECT session_key, customer_id, started_at, duration_seconds, events, product_views, add_to_carts, "
        "landing_page_url, country_code FROM marts.fct_clickstream_sessions ORDER BY session_key"
    )
    assert sessions == [
        {"session_key": "a1-20240108-1", "customer_id": None, "started_at": ts("2024-01-08T10:00:00"),
         "duration_seconds": 600, "events": 2, "product_views": 1, "add_to_carts": 0, "landing_page_url": "/e1",
         "country_code": "DE"},
        {"session_key": "a1-20240108-2", "customer_id": None, "started_at": ts("2024-01-08T10:50:00"),
         "duration_seconds": 600, "events": 2, "product_views": 0, "add_to_carts": 1, "landing_page_url": "/e3",
         "country_code": "DE"},
        {"session_key": "a2-20240108-1", "customer_id": "c9", "started_at": ts("2024-01-08T12:00:00"),
         "duration_seconds": 0, "events": 1, "product_views": 0, "add_to_carts": 0, "landing_page_url": "/e5",
         "country_code": "FR"},
    ]  # fmt: skip
    rejects = query("SELECT event_id, reject_reason FROM staging.stg_clickstream__events_rejects")
    assert rejects == [{"event_id": "e6", "reject_reason": "event_ts is not an RFC 3339 timestamp"}]


def test_app_events_hourly_dedupes_and_series_zero_fills(
    lake: Path, run_dataform: Callable[..., Any], query: Query
) -> None:
    _sales_fixture(lake)
    write_app_events(
        lake,
        "2024-01-08",
        10,
        [
            app_event("e1", "2024-01-08T10:05:00"),
            app_event("e1", "2024-01-08T10:05:00"),  # at-least-once duplicate
            app_event(
                "e2", "2024-01-08T10:30:00", event_type="purchase", price=2.5, currency="USD", revenue_usd=2.5
            ),
        ],
    )
    write_app_events(
        lake, "2024-01-08", 11, [app_event("e3", "2024-01-08T11:15:00", country="FR", platform="web")]
    )
    run_dataform(tags=["daily", "ml"])
    hourly = query(
        "SELECT event_hour, country_code, platform, event_type, event_count, revenue_usd "
        "FROM marts.fct_app_events_hourly ORDER BY event_hour, country_code, event_type"
    )
    assert hourly == [
        {"event_hour": ts("2024-01-08T10:00:00"), "country_code": "DE", "platform": "ios", "event_type": "open",
         "event_count": 1, "revenue_usd": 0.0},
        {"event_hour": ts("2024-01-08T10:00:00"), "country_code": "DE", "platform": "ios", "event_type": "purchase",
         "event_count": 1, "revenue_usd": 2.5},
        {"event_hour": ts("2024-01-08T11:00:00"), "country_code": "FR", "platform": "web", "event_type": "open",
         "event_count": 1, "revenue_usd": 0.0},
    ]  # fmt: skip
    series = query(
        "SELECT ts_hour, country, platform, event_count FROM ml.ml_app_activity_series ORDER BY ALL"
    )
    assert [(r["ts_hour"].hour, r["country"], r["platform"], r["event_count"]) for r in series] == [
        (10, "DE", "ios", 2),
        (10, "FR", "web", 0),
        (11, "DE", "ios", 0),
        (11, "FR", "web", 1),
    ]


@pytest.fixture
def churn_history(lake: Path) -> None:
    usd = {"currency": "USD", "fx_rate_to_usd": 1.0}
    write_sales(lake, "2024-01-01", [sale("o1", 1, "2024-01-01T10:00:00", "c1", unit_price=10.0, **usd)])
    write_sales(lake, "2024-01-02", [sale("o2", 1, "2024-01-02T10:00:00", "c3", status="cancelled", **usd)])
    write_sales(lake, "2024-01-05", [sale("o3", 1, "2024-01-05T10:00:00", "c2", unit_price=5.0, **usd)])
    write_sales(
        lake,
        "2024-01-10",
        [sale("o4", 1, "2024-01-10T10:00:00", "c1", unit_price=20.0, customer_segment="smb", **usd)],
    )
    write_sales(lake, "2024-02-20", [sale("o5", 1, "2024-02-20T10:00:00", "c1", unit_price=40.0, **usd)])
    write_clickstream(
        lake,
        "2024-01-12",
        [
            click("w1", "2024-01-12T08:00:00Z", "a1", customer_id="c1"),
            click("w2", "2024-01-12T08:01:00Z", "a1", "add_to_cart", customer_id="c1"),
        ],
    )
    write_app_events(lake, "2024-01-10", 0, [app_event("ae-1", "2024-01-10T00:05:00")])


def test_churn_features_are_point_in_time(
    churn_history: None, run_dataform: Callable[..., Any], query: Query
) -> None:
    run_dataform(tags=["daily", "ml"])
    rows = query("SELECT * FROM ml.ml_churn_features ORDER BY customer_id, as_of_date")
    assert (
        len(rows) == 14
    )  # c1 and c2 at the seven Sundays 2024-01-07 .. 2024-02-18; c3 never completed an order
    by_key = {(r["customer_id"], r["as_of_date"].isoformat()): r for r in rows}
    assert by_key[("c1", "2024-01-07")] == {
        "customer_id": "c1", "as_of_date": dt.date(2024, 1, 7), "recency_days": 6, "frequency_30d": 1,
        "frequency_90d": 1, "monetary_90d_usd": 10.0, "orders_total": 1, "avg_order_value_usd": 10.0,
        "tenure_days": 6, "sessions_30d": 0, "page_views_30d": 0, "add_to_cart_30d": 0,
        "days_since_last_session": None, "sessions_90d": 0, "last_gap_days": None,
        "customer_segment": "consumer", "customer_country": "DE", "label_churn_30d": 0,
    }  # fmt: skip
    c1_0114 = by_key[("c1", "2024-01-14")]
    assert (c1_0114["recency_days"], c1_0114["frequency_30d"], c1_0114["monetary_90d_usd"]) == (4, 2, 30.0)
    assert (c1_0114["avg_order_value_usd"], c1_0114["customer_segment"], c1_0114["label_churn_30d"]) == (
        15.0,
        "smb",
        1,
    )
    assert (c1_0114["sessions_30d"], c1_0114["page_views_30d"], c1_0114["add_to_cart_30d"]) == (1, 1, 1)
    assert c1_0114["days_since_last_session"] == 2
    # two distinct order dates by then (01-01, 01-10): the gap between them; one session in 90 days
    assert (c1_0114["last_gap_days"], c1_0114["sessions_90d"]) == (9, 1)
    assert by_key[("c1", "2024-02-11")]["sessions_90d"] == 1  # 01-12 is within 90 days of 02-11
    assert (
        by_key[("c1", "2024-01-21")]["label_churn_30d"] == 0
    )  # the 2024-02-20 order is inside (01-21, 02-20]
    assert by_key[("c1", "2024-01-28")]["label_churn_30d"] is None  # window not fully observed yet
    assert by_key[("c1", "2024-02-11")]["frequency_30d"] == 0
    assert [
        by_key[("c2", d)]["label_churn_30d"] for d in ("2024-01-07", "2024-01-14", "2024-01-21", "2024-01-28")
    ] == [
        1,
        1,
        1,
        None,
    ]
