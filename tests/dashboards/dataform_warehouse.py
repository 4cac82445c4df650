"""A tiny but real warehouse: bronze files → the real local Dataform → the real bi views (test_real_views.py).

The ML write-backs (churn scores, forecasts) are inserted the way the pipelines write them, into the
tables the Dataform ``operations`` create, so every bi view is the real SQLX view over real rows.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pyarrow as pa

from harness.dataform import RunResult, run
from rillflow.settings import Settings, load_settings
from rillflow.warehouse import DuckDBWarehouse
from streaming.sinks import HOURLY_SCHEMA
from tests.dataform.lake import (
    app_event,
    click,
    sale,
    startup,
    ts,
    write_app_events,
    write_clickstream,
    write_sales,
    write_startups,
)
from tests.support.dataform import PROJECT_DIR, TEST_VARS

FIRST_DAY = dt.date(2024, 1, 10)
DAYS = 10  # sales and sessions on 2024-01-10 .. 2024-01-19
APP_DAY = "2024-01-19"  # app events in hours 00..05 of the last day; the stream holds 06..07
CUSTOMERS = [f"c{i}" for i in range(1, 9)]


def settings_at(home: Path) -> Settings:
    return dataclasses.replace(load_settings(), home=home)


def write_lake(settings: Settings) -> None:
    lake = settings.lake_dir
    usd = {"currency": "USD", "fx_rate_to_usd": 1.0}
    for n in range(DAYS):
        day = FIRST_DAY + dt.timedelta(days=n)
        rows = [
            sale(
                f"o{n}-{k}",
                1,
                f"{day}T{9 + k:02d}:00:00",
                CUSTOMERS[(n + k) % len(CUSTOMERS)],
                channel=("web", "store", "app")[k % 3],
                unit_price=10.0 * (k + 1) + n,
                **usd,
            )
            for k in range(1 + n % 3)
        ]
        write_sales(lake, day.isoformat(), rows)
        write_clickstream(
            lake,
            day.isoformat(),
            [
                click(f"e{n}-1", f"{day}T08:00:00Z", f"a{n}", customer_id="c1"),
                click(f"e{n}-2", f"{day}T08:01:00Z", f"a{n}", "product_view", customer_id="c1"),
                click(f"e{n}-3", f"{day}T08:02:00Z", f"a{n}", "add_to_cart", customer_id="c1"),
                click(f"e{n}-4", f"{day}T09:00:00Z", f"b{n}"),
                *(
                    [
                        click(f"e{n}-5", f"{day}T08:03:00Z", f"a{n}", "checkout", customer_id="c1"),
                        click(f"e{n}-6", f"{day}T08:04:00Z", f"a{n}", "purchase", customer_id="c1"),
                    ]
                    if n % 2
                    else []
                ),
            ],
        )
    for hour in range(6):
        events = [
            app_event(f"ae-{hour}-{k}", f"{APP_DAY}T{hour:02d}:{k:02d}:00", country=("DE", "FR")[k % 2])
            for k in range(3 + hour)
        ]
        events.append(
            app_event(
                f"ap-{hour}",
                f"{APP_DAY}T{hour:02d}:30:00",
                event_type="purchase",
                price=1.99,
                currency="USD",
                revenue_usd=1.99,
            )
        )
        write_app_events(lake, APP_DAY, hour, events)
    write_startups(
        lake,
        "full",
        "2024-01-01",
        [
            startup("s1", "2023-12-31T00:00:00Z", total_funding_usd=3_000_000),
            startup("s2", "2023-12-31T00:00:00Z", sector="saas", total_funding_usd=1_500_000),
            startup("s3", "2023-12-31T00:00:00Z", sector="saas", status="closed", total_funding_usd=500_000),
        ],
    )


def write_stream(settings: Settings) -> None:
    """The streaming pipeline's hourly aggregates: two hours after the lake's last modelled hour."""
    now = ts(f"{APP_DAY}T08:00:00")
    rows = [
        {
            "window_start": ts(f"{APP_DAY}T{hour:02d}:00:00"),
            "country": "DE",
            "platform": "ios",
            "event_type": "open",
            "event_count": 5,
            "revenue_usd": 0.0,
            "updated_at": now,
        }
        for hour in (6, 7)
    ]
    DuckDBWarehouse(settings.warehouse_path).write(
        "streaming", "app_events_hourly", pa.Table.from_pylist(rows, schema=HOURLY_SCHEMA)
    )


def run_dataform(settings: Settings) -> RunResult:
    result = run(PROJECT_DIR, settings, tags=["daily", "ml", "bi"], vars=TEST_VARS)
    assert result.ok, result.describe_failures()
    return result


def write_predictions(settings: Settings) -> None:
    """Churn scores and forecasts, as the ML pipelines write them back."""
    as_of = dt.date(2024, 1, 14)
    scored_at = ts("2024-01-15T02:00:00")
    scores = [0.05, 0.15, 0.35, 0.55, 0.72, 0.81, 0.93, 1.0]
    wh = DuckDBWarehouse(settings.warehouse_path)
    with wh.connect() as con:
        for customer, score in zip(CUSTOMERS, scores, strict=True):
            con.execute(
                "INSERT INTO ml.ml_churn_scores VALUES (?, ?, ?, 'churn_classifier', '3', ?)",
                [customer, as_of, score, scored_at],
            )
        for customer, score in zip(CUSTOMERS[:6], scores, strict=False):  # BigQuery ML scores six of them
            con.execute(
                "INSERT INTO ml.bqml_churn_scores VALUES (?, ?, ?, 'bqml_churn_logreg', '1', ?, 'ml.bqml_churn_logreg')",
                [customer, as_of, min(score + 0.1, 1.0), scored_at],
            )
        # an older scoring run the views must ignore
        con.execute(
            "INSERT INTO ml.ml_churn_scores VALUES ('c1', DATE '2024-01-07', 0.99, 'churn_classifier', '2', ?)",
            [ts("2024-01-08T02:00:00")],
        )
        origin = ts(f"{APP_DAY}T03:00:00")
        for step in range(1, 7):  # hours 04..09: 04 and 05 have actuals, the rest are the future
            hour = origin + dt.timedelta(hours=step)
            for country in ("DE", "FR"):
                con.execute(
                    "INSERT INTO ml.ml_app_forecasts VALUES (?, ?, 'ios', ?, ?, ?, 'app_forecaster', '1', ?, ?)",
                    [hour, country, 4.0 + step / 2, 2.0, 8.0 + step, origin, origin],
                )


def build_warehouse(home: Path, predictions: bool = True) -> Settings:
    settings = settings_at(home)
    settings.lake_dir.mkdir(parents=True, exist_ok=True)
    write_stream(settings)
    write_lake(settings)
    run_dataform(settings)
    if predictions:
        write_predictions(settings)
    return settings
