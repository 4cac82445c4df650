"""One function per panel: the SQL it sends to the ``bi`` views and the frame it gets back.

Every function takes the environment's warehouse (``rillflow.warehouse.Warehouse``: DuckDB
locally, BigQuery in the cloud, picked by ``rillflow.resources``) and the page's
:class:`~dashboards.filters.Filters`, runs its statement at call time, and returns a pandas
frame: timestamps in UTC, dates as ``datetime64``. Aggregation happens in the warehouse, so
what crosses the wire is what a chart draws. The statements keep to the SQL both engines read
alike (:mod:`dashboards.sql`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from dashboards.filters import Filters
from dashboards.sql import view, where

#: drill-down tables show at most this many rows
DRILL_LIMIT = 500


def _numbers(table: pa.Table) -> pa.Table:
    """Decimal columns as int64 (no scale) or float64: DuckDB sums BIGINTs into HUGEINT, which
    Arrow carries as decimal128 and pandas as Python objects; BigQuery's SUM(INT64) is INT64."""
    for i, column in enumerate(table.schema):
        if pa.types.is_decimal(column.type):
            target = pa.int64() if column.type.scale == 0 else pa.float64()
            table = table.set_column(i, pa.field(column.name, target), table.column(i).cast(target))
    return table


def frame(warehouse: Any, sql: str) -> pd.DataFrame:
    """Run ``sql`` and return its rows; timestamp columns in UTC whatever the session's zone."""
    df = _numbers(warehouse.query(sql)).to_pandas(date_as_object=False)
    for column in df.columns:
        if isinstance(df[column].dtype, pd.DatetimeTZDtype):
            df[column] = df[column].dt.tz_convert("UTC")
    return df


# --- filter choices -----------------------------------------------------------------------------------


def distinct(warehouse: Any, name: str, column: str) -> list[str]:
    """The values a filter offers: ``column``'s distinct non-null values in ``bi.<name>``."""
    sql = f"SELECT DISTINCT {column} AS value FROM {view(name)} WHERE {column} IS NOT NULL ORDER BY value"
    return [str(v) for v in frame(warehouse, sql)["value"]]


def revenue_date_bounds(warehouse: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The first and last order day in the data (the History page's date range bounds)."""
    df = frame(
        warehouse,
        f"SELECT MIN(order_date) AS first_day, MAX(order_date) AS last_day FROM {view('bi_daily_revenue')}",
    )
    first, last = df["first_day"].iloc[0], df["last_day"].iloc[0]
    return (None if pd.isna(first) else pd.Timestamp(first), None if pd.isna(last) else pd.Timestamp(last))


# --- History (pre-ML) -----------------------------------------------------------------------------------


def revenue_by_day_and_channel(warehouse: Any, f: Filters) -> pd.DataFrame:
    name = view("bi_daily_revenue")
    cond = where(f.dates("order_date"), f.country("country_code"), f.channel("channel"))
    return frame(
        warehouse,
        "SELECT order_date, channel, SUM(orders) AS orders, SUM(revenue_usd) AS revenue_usd, "
        f"SUM(refunded_usd) AS refunded_usd FROM {name} {cond} "
        "GROUP BY order_date, channel ORDER BY order_date, channel",
    )


def revenue_rows(warehouse: Any, f: Filters) -> pd.DataFrame:
    """The rows behind the revenue and order KPIs: day × channel × country, newest first."""
    cond = where(f.dates("order_date"), f.country("country_code"), f.channel("channel"))
    return frame(
        warehouse,
        "SELECT order_date, channel, country_code, orders, revenue_usd, refunded_usd "
        f"FROM {view('bi_daily_revenue')} {cond} "
        f"ORDER BY order_date DESC, revenue_usd DESC, channel, country_code LIMIT {DRILL_LIMIT}",
    )


def funnel_by_day(warehouse: Any, f: Filters) -> pd.DataFrame:
    """The website funnel per day (the view has no country or channel: sessions are anonymous)."""
    return frame(
        warehouse,
        "SELECT session_date, sessions, sessions_with_product_view, sessions_with_add_to_cart, "
        f"sessions_with_checkout, sessions_with_purchase FROM {view('bi_funnel_daily')} "
        f"{where(f.dates('session_date'))} ORDER BY session_date",
    )


def app_activity_by_hour(warehouse: Any, f: Filters) -> pd.DataFrame:
    """Modelled app events per hour over the selected countries, within the date range (UTC days).

    The range is cut in pandas: a timestamp literal would be read in the session's time zone by
    DuckDB and in UTC by BigQuery (:mod:`dashboards.sql`). One row per hour stays small.
    """
    df = frame(
        warehouse,
        "SELECT event_hour, SUM(events) AS events, SUM(installs) AS installs, SUM(purchases) AS purchases, "
        f"SUM(revenue_usd) AS revenue_usd FROM {view('bi_app_activity_hourly')} "
        f"{where(f.country('country_code'))} GROUP BY event_hour ORDER BY event_hour",
    )
    days = df["event_hour"].dt.tz_localize(None).dt.normalize()
    keep = pd.Series(True, index=df.index)
    if f.start:
        keep &= days >= pd.Timestamp(f.start)
    if f.end:
        keep &= days <= pd.Timestamp(f.end)
    return df.loc[keep].reset_index(drop=True)


def funding_by_sector(warehouse: Any, f: Filters) -> pd.DataFrame:
    return frame(
        warehouse,
        "SELECT sector, startups, active_startups, total_funding_usd "
        f"FROM {view('bi_startup_funding_by_sector')} ORDER BY total_funding_usd DESC, sector",
    )


# --- Predictions (post-ML) -------------------------------------------------------------------------------


def churn_distribution(warehouse: Any, f: Filters) -> pd.DataFrame:
    """The latest scoring's customers per score bucket (tenths); the view has no country column."""
    return frame(
        warehouse,
        "SELECT as_of_date, model_name, model_version, score_bucket, customers "
        f"FROM {view('bi_churn_score_distribution')} ORDER BY score_bucket",
    )


def customers_at_risk(warehouse: Any, f: Filters, min_score: float | None = None) -> pd.DataFrame:
    """The view's customers most at risk (its top 100), in the selected countries, highest first."""
    floor = None if min_score is None else f"score >= {float(min_score)!r}"
    return frame(
        warehouse,
        "SELECT customer_id, score, customer_segment, country_code, last_order_date, lifetime_revenue_usd, "
        f"as_of_date, model_name, model_version FROM {view('bi_churn_top_at_risk')} "
        f"{where(f.country('country_code'), floor)} ORDER BY score DESC, customer_id",
    )


def _forecast_where(f: Filters) -> str:
    return where(f.country("country"), f.platform("platform"))


def forecast_by_hour(warehouse: Any, f: Filters) -> pd.DataFrame:
    """Forecast vs actual per hour, summed over the selected countries and platforms.

    ``lower``/``upper`` are sums of the per-series bounds (wider than the exact interval of the
    total: a conservative band). ``actual`` is the sum only when every series has its actual.
    """
    df = frame(
        warehouse,
        "SELECT ts_hour, SUM(predicted_count) AS predicted, SUM(lower) AS lower, SUM(upper) AS upper, "
        "SUM(actual_count) AS actual, COUNT(*) AS series, COUNT(actual_count) AS series_with_actual, "
        f"MAX(origin_ts) AS origin_ts FROM {view('bi_app_forecast_vs_actual')} {_forecast_where(f)} "
        "GROUP BY ts_hour ORDER BY ts_hour",
    )
    incomplete = df["series_with_actual"] < df["series"]
    df["actual"] = df["actual"].astype("float64").mask(incomplete)
    return df


def forecast_accuracy(warehouse: Any, f: Filters) -> pd.DataFrame:
    """Over the series-hours that have an actual: how many, their mean absolute error, how many
    actuals fall inside the prediction interval; and which model versions made the forecasts."""
    return frame(
        warehouse,
        "SELECT model_name, model_version, COUNT(*) AS series_hours, COUNT(actual_count) AS with_actual, "
        "AVG(ABS(predicted_count - actual_count)) AS mae, "
        "SUM(CASE WHEN actual_count BETWEEN lower AND upper THEN 1 ELSE 0 END) AS inside, "
        "MIN(ts_hour) AS first_hour, MAX(ts_hour) AS last_hour, MAX(origin_ts) AS origin_ts "
        f"FROM {view('bi_app_forecast_vs_actual')} {_forecast_where(f)} "
        "GROUP BY model_name, model_version ORDER BY model_name, model_version",
    )


def forecast_rows(warehouse: Any, f: Filters) -> pd.DataFrame:
    """The rows behind the forecast KPIs: series-hours with an actual, the largest errors first."""
    cond = where(_forecast_where(f).removeprefix("WHERE ") or None, "actual_count IS NOT NULL")
    return frame(
        warehouse,
        "SELECT ts_hour, country, platform, predicted_count, lower, upper, actual_count, "
        "ABS(predicted_count - actual_count) AS abs_error, model_name, model_version "
        f"FROM {view('bi_app_forecast_vs_actual')} {cond} "
        f"ORDER BY abs_error DESC, ts_hour, country, platform LIMIT {DRILL_LIMIT}",
    )


# --- Live --------------------------------------------------------------------------------------------------


def _live_where(f: Filters) -> str:
    """The last ``f.hours`` hours of the stream (back from its newest hour) in the selected series."""
    recent = f"event_hour > (SELECT MAX(event_hour) FROM {view('bi_app_activity_live')}) - INTERVAL {int(f.hours)} HOUR"
    return where(recent, f.country("country_code"), f.platform("platform"))


def live_by_country(warehouse: Any, f: Filters) -> pd.DataFrame:
    return frame(
        warehouse,
        "SELECT event_hour, country_code, SUM(event_count) AS events, SUM(revenue_usd) AS revenue_usd "
        f"FROM {view('bi_app_activity_live')} {_live_where(f)} "
        "GROUP BY event_hour, country_code ORDER BY event_hour, country_code",
    )


def live_by_platform(warehouse: Any, f: Filters) -> pd.DataFrame:
    return frame(
        warehouse,
        "SELECT event_hour, platform, SUM(event_count) AS events "
        f"FROM {view('bi_app_activity_live')} {_live_where(f)} "
        "GROUP BY event_hour, platform ORDER BY event_hour, platform",
    )


def live_rows(warehouse: Any, f: Filters) -> pd.DataFrame:
    """The rows behind the live KPIs: hour × country × platform × event type, newest first."""
    return frame(
        warehouse,
        "SELECT event_hour, country_code, platform, event_type, event_count, revenue_usd "
        f"FROM {view('bi_app_activity_live')} {_live_where(f)} "
        f"ORDER BY event_hour DESC, event_count DESC, country_code, platform, event_type LIMIT {DRILL_LIMIT}",
    )


# --- Vertex vs BigQuery ML (Predictions) ----------------------------------------------------------------

#: the churn comparison chart draws at most this many customers (its KPIs count them all)
COMPARISON_LIMIT = 5_000


def _both_scored_day(name: str) -> str:
    """The newest day both churn models scored (the view is a full outer join of the two)."""
    return (
        f"as_of_date = (SELECT MAX(as_of_date) FROM {name} "
        "WHERE vertex_score IS NOT NULL AND bqml_score IS NOT NULL)"
    )


def churn_comparison(warehouse: Any, f: Filters) -> pd.DataFrame:
    """The Vertex model's and BigQuery ML's churn scores of the same customers on the newest day both
    scored (the view has no country column)."""
    name = view("bi_churn_model_comparison")
    return frame(
        warehouse,
        "SELECT customer_id, as_of_date, vertex_score, vertex_model_version, bqml_score, bqml_model, "
        f"score_difference FROM {name} WHERE {_both_scored_day(name)} "
        f"AND vertex_score IS NOT NULL AND bqml_score IS NOT NULL ORDER BY customer_id LIMIT {COMPARISON_LIMIT}",
    )


def churn_comparison_summary(warehouse: Any, f: Filters) -> pd.DataFrame:
    """Over every customer both models scored that day: how many, and how far apart the scores are."""
    name = view("bi_churn_model_comparison")
    return frame(
        warehouse,
        "SELECT MAX(as_of_date) AS as_of_date, COUNT(*) AS customers, "
        "AVG(ABS(score_difference)) AS mean_abs_difference, AVG(score_difference) AS mean_difference, "
        "MAX(vertex_model_version) AS vertex_model_version, MAX(bqml_model) AS bqml_model "
        f"FROM {name} WHERE {_both_scored_day(name)} AND vertex_score IS NOT NULL AND bqml_score IS NOT NULL",
    )


def churn_comparison_rows(warehouse: Any, f: Filters) -> pd.DataFrame:
    """The rows behind the churn comparison: the customers the two models disagree on most."""
    name = view("bi_churn_model_comparison")
    return frame(
        warehouse,
        "SELECT customer_id, as_of_date, vertex_score, bqml_score, score_difference, vertex_model_version, "
        f"bqml_model FROM {name} WHERE {_both_scored_day(name)} AND score_difference IS NOT NULL "
        f"ORDER BY ABS(score_difference) DESC, customer_id LIMIT {DRILL_LIMIT}",
    )


def forecast_comparison_by_hour(warehouse: Any, f: Filters) -> pd.DataFrame:
    """Both forecasters' predictions and the actual count per hour, summed over the selected series;
    each model's MAE over the series-hours with an actual (``*_mae`` × ``*_n`` sums back exactly).
    ``actual`` is the sum only when every series has its actual."""
    df = frame(
        warehouse,
        "SELECT ts_hour, SUM(actual_count) AS actual, COUNT(*) AS series, COUNT(actual_count) AS series_with_actual, "
        "SUM(vertex_predicted_count) AS vertex, SUM(bqml_predicted_count) AS bqml, "
        "AVG(vertex_abs_error) AS vertex_mae, COUNT(vertex_abs_error) AS vertex_n, "
        "AVG(bqml_abs_error) AS bqml_mae, COUNT(bqml_abs_error) AS bqml_n "
        f"FROM {view('bi_forecast_model_comparison')} {_forecast_where(f)} GROUP BY ts_hour ORDER BY ts_hour",
    )
    df["actual"] = df["actual"].astype("float64").mask(df["series_with_actual"] < df["series"])
    return df


def forecast_comparison_rows(warehouse: Any, f: Filters) -> pd.DataFrame:
    """The rows behind the forecast comparison: series-hours with an actual, newest first."""
    cond = where(_forecast_where(f).removeprefix("WHERE ") or None, "actual_count IS NOT NULL")
    return frame(
        warehouse,
        "SELECT ts_hour, country, platform, actual_count, vertex_predicted_count, bqml_predicted_count, "
        "vertex_abs_error, bqml_abs_error, vertex_model_version, bqml_model "
        f"FROM {view('bi_forecast_model_comparison')} {cond} "
        f"ORDER BY ts_hour DESC, country, platform LIMIT {DRILL_LIMIT}",
    )
