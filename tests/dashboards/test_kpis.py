"""KPI numbers from known frames (pure functions, no warehouse)."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from dashboards.kpis import (
    Kpi,
    activity_kpis,
    churn_kpis,
    forecast_kpis,
    funding_kpis,
    funnel_kpis,
    live_kpis,
    money,
    revenue_kpis,
)


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def _by_label(kpis: list[Kpi]) -> dict[str, Kpi]:
    return {k.label: k for k in kpis}


def test_revenue_last_day_and_last_seven_days() -> None:
    rows = [  # (day, channel, orders, revenue): day 1 is outside the 7 days ending on day 9
        ("2024-01-01", "web", 5, 1000.0),
        ("2024-01-03", "web", 1, 10.0),
        ("2024-01-08", "app", 2, 20.5),
        ("2024-01-09", "web", 3, 30.25),
        ("2024-01-09", "store", 1, 4.0),
    ]
    df = pd.DataFrame(
        [
            {"order_date": dt.date.fromisoformat(d), "channel": c, "country_code": "DE", "orders": o,
             "revenue_usd": r, "refunded_usd": 0.0}
            for d, c, o, r in rows
        ]
    )  # fmt: skip
    kpis = _by_label(revenue_kpis(df))
    assert kpis["Revenue, last day"].value == pytest.approx(34.25)
    assert kpis["Revenue, last day"].note == "on 2024-01-09"
    assert kpis["Revenue, last 7 days"].value == pytest.approx(64.75)
    assert kpis["Revenue, last 7 days"].note == "2024-01-03 – 2024-01-09"
    assert kpis["Orders, last day"].value == 4
    assert kpis["Revenue, last day"].display() == "$34.25"


def test_funnel_conversion_on_the_last_day() -> None:
    df = pd.DataFrame(
        {
            "session_date": pd.to_datetime(["2024-01-08", "2024-01-09"]),
            "sessions": [10, 8],
            "sessions_with_purchase": [5.0, 2.0],
        }
    )
    kpis = _by_label(funnel_kpis(df))
    assert kpis["Web sessions, last day"].value == 8
    assert kpis["Conversion, last day"].value == pytest.approx(0.25)
    assert kpis["Conversion, last day"].display() == "25.0%"


def test_activity_counts_the_newest_utc_day() -> None:
    hourly = pd.DataFrame(
        {
            "event_hour": [_utc("2024-01-18 23:00"), _utc("2024-01-19 00:00"), _utc("2024-01-19 02:00")],
            "events": [100, 3, 4],
        }
    )
    kpis = _by_label(activity_kpis(hourly))
    assert kpis["App events, last day"].value == 7
    assert kpis["App events, last day"].note == "on 2024-01-19 (UTC, up to 02:00)"
    assert kpis["App events, last day"].drill == "app_activity"
    assert activity_kpis(hourly.iloc[:0]) == []


def test_live_kpis_cover_the_window() -> None:
    live = pd.DataFrame(
        {
            "event_hour": [_utc("2024-01-19 06:00"), _utc("2024-01-19 07:00"), _utc("2024-01-19 07:00")],
            "country_code": ["DE", "DE", "FR"],
            "events": [5, 6, 7],
            "revenue_usd": [0.0, 1.99, 0.0],
        }
    )
    kpis = _by_label(live_kpis(live, 6))
    assert kpis["Events streamed"].value == 18 and kpis["Events streamed"].note == "last 6 h of the stream"
    assert kpis["Newest hour"].value == "07:00" and kpis["Newest hour"].note.startswith("2024-01-19")
    assert kpis["Countries"].value == 2
    assert kpis["In-app revenue"].display() == "$1.99"
    assert all(k.drill == "live" for k in kpis.values())


def test_funding_totals() -> None:
    df = pd.DataFrame({"sector": ["ai", "saas"], "startups": [2, 3], "total_funding_usd": [1.5e6, 2.0e6]})
    kpis = _by_label(funding_kpis(df))
    assert (kpis["Startups tracked"].value, kpis["Startups tracked"].note) == (5, "2 sectors")
    assert kpis["Startup funding"].display() == "$3.5M"


def test_churn_share_at_high_risk_counts_the_0_7_bucket_and_above() -> None:
    buckets = [0.0, 0.3, 0.6, 0.7, 0.9]
    customers = [10, 20, 30, 25, 15]
    df = pd.DataFrame(
        {
            "as_of_date": pd.to_datetime(["2024-01-14"] * 5),
            "model_name": ["churn_classifier"] * 5,
            "model_version": ["3"] * 5,
            "score_bucket": [math.floor(b * 10) / 10 for b in buckets],
            "customers": customers,
        }
    )
    kpis = _by_label(churn_kpis(df))
    assert kpis["Customers scored"].value == 100
    assert kpis["Customers scored"].note == "as of 2024-01-14"
    share = kpis["Share at high risk (score ≥ 0.7)"]
    assert share.value == pytest.approx(0.40) and share.note == "40 customers"
    assert kpis["Churn model"].value == "churn_classifier v3"


def _accuracy(with_actual: int, mae: float | None, inside: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model_name": ["app_forecaster"],
            "model_version": ["1"],
            "series_hours": [6],
            "with_actual": [with_actual],
            "mae": [mae],
            "inside": [inside],
            "first_hour": [_utc("2024-01-19 04:00")],
            "last_hour": [_utc("2024-01-19 06:00")],
            "origin_ts": [_utc("2024-01-19 03:00")],
        }
    )


def test_forecast_horizon_error_and_coverage() -> None:
    kpis = _by_label(forecast_kpis(_accuracy(3, 7 / 3, 2)))
    assert kpis["Forecast horizon"].value == "3 h"
    assert kpis["Forecast horizon"].note == "from 2024-01-19 03:00 to 2024-01-19 06:00 UTC"
    assert kpis["Forecaster"].value == "app_forecaster v1"
    assert kpis["Forecast error (MAE)"].value == "2.33 events/h"
    assert kpis["Forecast error (MAE)"].note == "3 series-hours with actuals"
    assert kpis["Actuals inside interval"].value == pytest.approx(2 / 3)


def test_forecast_without_actuals_says_so() -> None:
    kpis = _by_label(forecast_kpis(_accuracy(0, None, 0)))
    assert kpis["Forecast error (MAE)"].value is None
    assert kpis["Forecast error (MAE)"].note == "no actuals yet"
    assert "Actuals inside interval" not in kpis


@pytest.mark.parametrize(
    ("kpi", "shown"),
    [
        (Kpi("a", 1234567, "int"), "1,234,567"),
        (Kpi("a", 0.1234, "pct"), "12.3%"),
        (Kpi("a", 12.5, "usd"), "$12.50"),
        (Kpi("a", None, "usd"), "–"),
        (Kpi("a", float("nan"), "pct"), "–"),
        (Kpi("a", "6 h", "text"), "6 h"),
    ],
)
def test_kpi_display(kpi: Kpi, shown: str) -> None:
    assert kpi.display() == shown


@pytest.mark.parametrize(
    ("value", "cents", "shown"),
    [
        (0, True, "$0.00"),
        (1234.56, True, "$1,234.56"),
        (9999.99, True, "$9,999.99"),
        (45_231, True, "$45.2K"),
        (74_948_703_000, True, "$74.9B"),
        (999_960, True, "$1.0M"),  # not "$1,000.0K"
        (-2_500_000, True, "-$2.5M"),
        (20_000, False, "$20K"),
        (1_234.5, False, "$1,234"),
    ],
)
def test_money_reads_as_a_person_would_say_it(value: float, cents: bool, shown: str) -> None:
    assert money(value, cents) == shown
