"""A small DuckDB warehouse for the dashboard tests: the ``bi`` views' columns (as the SQLX
definitions select them, checked by test_columns.py) over a few known rows.

The rows are tables, not the Dataform views: the dashboards only read ``bi``, and this keeps the
fixture a second's work. ``with_predictions=False`` leaves the ML views empty, as before the
models first trained.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rillflow.warehouse import DuckDBWarehouse

FIRST_DAY = dt.date(2024, 1, 10)
DAYS = 10  # sales and sessions on 2024-01-10 .. 2024-01-19
APP_DAY = "2024-01-19"  # modelled app events in hours 00..05; the stream holds 06..07
CHANNELS = ("web", "store", "app")
SCORES = {"c1": 0.05, "c2": 0.15, "c3": 0.35, "c4": 0.55, "c5": 0.72, "c6": 0.81, "c7": 0.93, "c8": 1.0}

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS bi;
CREATE TABLE bi.bi_daily_revenue (order_date DATE, channel VARCHAR, country_code VARCHAR, orders BIGINT,
  completed_orders BIGINT, units BIGINT, revenue_usd DOUBLE, refunded_usd DOUBLE);
CREATE TABLE bi.bi_funnel_daily (session_date DATE, sessions BIGINT, sessions_with_product_view BIGINT,
  sessions_with_add_to_cart BIGINT, sessions_with_checkout BIGINT, sessions_with_purchase BIGINT,
  conversion_rate DOUBLE);
CREATE TABLE bi.bi_app_activity_hourly (event_hour TIMESTAMPTZ, country_code VARCHAR, events BIGINT,
  installs BIGINT, purchases BIGINT, revenue_usd DOUBLE);
CREATE TABLE bi.bi_app_activity_live (event_hour TIMESTAMPTZ, country_code VARCHAR, platform VARCHAR,
  event_type VARCHAR, event_count BIGINT, revenue_usd DOUBLE);
CREATE TABLE bi.bi_startup_funding_by_sector (sector VARCHAR, startups BIGINT, active_startups BIGINT,
  total_funding_usd DOUBLE, avg_funding_usd DOUBLE);
CREATE TABLE bi.bi_churn_score_distribution (as_of_date DATE, model_name VARCHAR, model_version VARCHAR,
  score_bucket DOUBLE, customers BIGINT);
CREATE TABLE bi.bi_churn_top_at_risk (customer_id VARCHAR, as_of_date DATE, score DOUBLE, model_name VARCHAR,
  model_version VARCHAR, customer_segment VARCHAR, country_code VARCHAR, last_order_date DATE,
  lifetime_revenue_usd DOUBLE);
CREATE TABLE bi.bi_app_forecast_vs_actual (ts_hour TIMESTAMPTZ, country VARCHAR, platform VARCHAR,
  predicted_count DOUBLE, lower DOUBLE, upper DOUBLE, actual_count BIGINT, model_name VARCHAR,
  model_version VARCHAR, origin_ts TIMESTAMPTZ);
CREATE TABLE bi.bi_churn_model_comparison (customer_id VARCHAR, as_of_date DATE, vertex_score DOUBLE,
  vertex_model_version VARCHAR, bqml_score DOUBLE, bqml_model VARCHAR, score_difference DOUBLE);
CREATE TABLE bi.bi_forecast_model_comparison (ts_hour TIMESTAMPTZ, country VARCHAR, platform VARCHAR,
  actual_count BIGINT, vertex_predicted_count DOUBLE, vertex_lower DOUBLE, vertex_upper DOUBLE,
  vertex_model_version VARCHAR, vertex_origin_ts TIMESTAMPTZ, bqml_predicted_count DOUBLE, bqml_lower DOUBLE,
  bqml_upper DOUBLE, bqml_model VARCHAR, bqml_origin_ts TIMESTAMPTZ, vertex_abs_error DOUBLE,
  bqml_abs_error DOUBLE);
"""
#: BigQuery ML's churn scores of the same customers: each the Vertex score plus this (c8: not scored)
BQML_SHIFT = {c: 0.1 if i % 2 else -0.05 for i, c in enumerate(SCORES) if c != "c8"}


def _ts(text: str) -> str:
    return f"TIMESTAMPTZ '{text}+00'"


def write_history(con: object) -> None:
    rows = []
    for n in range(DAYS):
        day = FIRST_DAY + dt.timedelta(days=n)
        for k in range(1 + n % 3):  # 1, 2 or 3 orders a day, one channel each
            country = ("DE", "FR")[k % 2]
            rows.append(f"(DATE '{day}', '{CHANNELS[k]}', '{country}', 1, 1, 1, {10.0 * (k + 1) + n}, 0.0)")
    con.execute(f"INSERT INTO bi.bi_daily_revenue VALUES {', '.join(rows)}")  # type: ignore[attr-defined]
    funnel = [
        f"(DATE '{FIRST_DAY + dt.timedelta(days=n)}', 2, 1, 1, {n % 2}, {n % 2}, {(n % 2) / 2})"
        for n in range(DAYS)
    ]
    con.execute(f"INSERT INTO bi.bi_funnel_daily VALUES {', '.join(funnel)}")  # type: ignore[attr-defined]
    hourly = []
    for hour in range(6):
        hourly.append(f"({_ts(f'{APP_DAY} {hour:02d}:00:00')}, 'DE', {2 + hour}, 1, 1, 1.99)")
        hourly.append(f"({_ts(f'{APP_DAY} {hour:02d}:00:00')}, 'FR', {1 + hour}, 0, 0, 0.0)")
    con.execute(f"INSERT INTO bi.bi_app_activity_hourly VALUES {', '.join(hourly)}")  # type: ignore[attr-defined]
    con.execute(  # type: ignore[attr-defined]
        "INSERT INTO bi.bi_startup_funding_by_sector VALUES ('fintech', 1, 1, 3000000, 3000000), "
        "('saas', 2, 1, 2000000, 1000000)"
    )


def write_stream(con: object, hours: tuple[int, ...] = (6, 7)) -> None:
    for hour in hours:
        stamp = _ts(f"{APP_DAY} {hour:02d}:00:00")
        con.execute(  # type: ignore[attr-defined]
            f"INSERT INTO bi.bi_app_activity_live VALUES ({stamp}, 'DE', 'ios', 'open', 5, 0.0), "
            f"({stamp}, 'FR', 'android', 'open', 3, 0.0), ({stamp}, 'DE', 'android', 'purchase', 1, 1.99)"
        )


def write_predictions(con: object) -> None:
    as_of = "DATE '2024-01-14'"
    buckets: dict[float, int] = {}
    for score in SCORES.values():
        bucket = min(int(score * 10) / 10, 0.9)
        buckets[bucket] = buckets.get(bucket, 0) + 1
    con.execute(  # type: ignore[attr-defined]
        "INSERT INTO bi.bi_churn_score_distribution VALUES "
        + ", ".join(f"({as_of}, 'churn_classifier', '3', {b}, {n})" for b, n in sorted(buckets.items()))
    )
    con.execute(  # type: ignore[attr-defined]
        "INSERT INTO bi.bi_churn_top_at_risk VALUES "
        + ", ".join(
            f"('{c}', {as_of}, {s}, 'churn_classifier', '3', 'regular', '{('DE', 'FR')[i % 2]}', "
            f"DATE '2024-01-12', {100.0 * (i + 1)})"
            for i, (c, s) in enumerate(SCORES.items())
        )
    )
    origin = _ts(f"{APP_DAY} 03:00:00")
    rows = []
    for step in range(1, 7):  # hours 04..09: 04 and 05 have actuals, the rest are the future
        hour = 3 + step
        for country, actual in (("DE", 2 + hour), ("FR", 1 + hour)):
            known = str(actual) if hour <= 5 else "NULL"
            rows.append(
                f"({_ts(f'{APP_DAY} {hour:02d}:00:00')}, '{country}', 'ios', {4.0 + step / 2}, 2.0, {8.0 + step}, "
                f"{known}, 'app_forecaster', '1', {origin})"
            )
    con.execute(f"INSERT INTO bi.bi_app_forecast_vs_actual VALUES {', '.join(rows)}")  # type: ignore[attr-defined]
    write_comparisons(con)


def write_comparisons(con: object) -> None:
    """Vertex vs BigQuery ML, as the comparison views return them (a full outer join of the two)."""
    churn = []
    for c, score in SCORES.items():
        bqml = round(min(max(score + BQML_SHIFT[c], 0.0), 1.0), 4) if c in BQML_SHIFT else None
        diff = "NULL" if bqml is None else str(round(bqml - score, 4))
        churn.append(
            f"('{c}', DATE '2024-01-14', {score}, '3', {'NULL' if bqml is None else bqml}, "
            f"{'NULL' if bqml is None else repr('ml.bqml_churn')}, {diff})"
        )
    churn.append(
        "('c1', DATE '2024-01-21', NULL, NULL, 0.5, 'ml.bqml_churn', NULL)"
    )  # a newer day BQML alone scored
    con.execute(f"INSERT INTO bi.bi_churn_model_comparison VALUES {', '.join(churn)}")  # type: ignore[attr-defined]
    origin = _ts(f"{APP_DAY} 03:00:00")
    rows = []
    for step in range(1, 4):  # hours 04..06: 04 and 05 have actuals
        hour = 3 + step
        for country, actual in (("DE", 2 + hour), ("FR", 1 + hour)):
            vertex, bqml = 4.0 + step / 2, 5.0 + step
            known = hour <= 5
            rows.append(
                f"({_ts(f'{APP_DAY} {hour:02d}:00:00')}, '{country}', 'ios', {actual if known else 'NULL'}, "
                f"{vertex}, 2.0, {8.0 + step}, '1', {origin}, {bqml}, 1.0, {9.0 + step}, 'ml.bqml_arima', {origin}, "
                f"{abs(vertex - actual) if known else 'NULL'}, {abs(bqml - actual) if known else 'NULL'})"
            )
    con.execute(f"INSERT INTO bi.bi_forecast_model_comparison VALUES {', '.join(rows)}")  # type: ignore[attr-defined]


def build_warehouse(path: Path, predictions: bool = True) -> Path:
    """The warehouse file at ``path`` (created), with or without the ML write-backs."""
    with DuckDBWarehouse(path).connect() as con:
        con.execute(SCHEMA)
        write_history(con)
        write_stream(con)
        if predictions:
            write_predictions(con)
    return path
