"""The bi views the dashboards read: which columns, and what it means when one is missing or empty.

Loading never raises for a missing warehouse, a missing view, a view whose upstream table is
absent, or an empty view: each comes back as a :class:`ViewData` with ``problem`` set, which the
page renders as that panel's empty state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from rillflow.commands.history import (
    DEFAULT_FIRST_DAY,
    Milestone,
    churn_milestone,
    forecaster_milestone,
    with_margin,
)

SCHEMA = "bi"
REPLAY = "fill some days with `rillflow backfill` or `rillflow run` (or `make demo`)"
RUN_BI = "build the views with `rillflow dataform run --tags daily,ml,bi`"


def _first_model(milestone: Milestone, what: str) -> str:
    return (
        f"No {what} yet: {milestone.label} first trains after ~{milestone.days} days of history "
        f"— run `rillflow backfill --days {with_margin(milestone.days)}` (minutes) or `make demo`."
    )


@dataclass(frozen=True)
class ViewSpec:
    name: str
    #: the columns the dashboards read (a test checks they exist in the real SQLX views)
    columns: tuple[str, ...]
    #: what an empty view means to a user in normal operation, and what fills it
    empty_hint: str


VIEWS: dict[str, ViewSpec] = {
    spec.name: spec
    for spec in (
        ViewSpec(
            "bi_daily_revenue",
            ("order_date", "channel", "country_code", "orders", "revenue_usd", "refunded_usd"),
            f"No sales yet: {REPLAY}.",
        ),
        ViewSpec(
            "bi_funnel_daily",
            (
                "session_date",
                "sessions",
                "sessions_with_product_view",
                "sessions_with_add_to_cart",
                "sessions_with_checkout",
                "sessions_with_purchase",
            ),
            f"No website sessions yet: {REPLAY}.",
        ),
        ViewSpec(
            "bi_app_activity_hourly",
            ("event_hour", "country_code", "events", "installs", "purchases", "revenue_usd"),
            f"No app activity yet: {REPLAY}; a day shows here once its daily pipeline has run.",
        ),
        ViewSpec(
            "bi_app_activity_live",
            ("event_hour", "country_code", "event_type", "event_count"),
            "Nothing streamed since the last modelled hour: this panel shows app events the daily "
            "pipeline has not modelled yet, so it is empty right after a pipeline run and while the "
            "stream is stopped.",
        ),
        ViewSpec(
            "bi_startup_funding_by_sector",
            ("sector", "startups", "active_startups", "total_funding_usd"),
            f"No startups yet: the startups API is loaded on the first replayed day and every Friday; {REPLAY}.",
        ),
        ViewSpec(
            "bi_churn_score_distribution",
            ("as_of_date", "model_name", "model_version", "score_bucket", "customers"),
            _first_model(churn_milestone(DEFAULT_FIRST_DAY), "churn scores"),
        ),
        ViewSpec(
            "bi_churn_top_at_risk",
            (
                "customer_id",
                "as_of_date",
                "score",
                "customer_segment",
                "country_code",
                "last_order_date",
                "lifetime_revenue_usd",
            ),
            _first_model(churn_milestone(DEFAULT_FIRST_DAY), "churn scores"),
        ),
        ViewSpec(
            "bi_app_forecast_vs_actual",
            (
                "ts_hour",
                "country",
                "platform",
                "predicted_count",
                "lower",
                "upper",
                "actual_count",
                "model_name",
                "model_version",
                "origin_ts",
            ),
            _first_model(forecaster_milestone(), "forecasts"),
        ),
    )
}

HISTORY_VIEWS = (
    "bi_daily_revenue",
    "bi_funnel_daily",
    "bi_app_activity_hourly",
    "bi_app_activity_live",
    "bi_startup_funding_by_sector",
)
PREDICTION_VIEWS = ("bi_churn_score_distribution", "bi_churn_top_at_risk", "bi_app_forecast_vs_actual")


@dataclass(frozen=True)
class ViewData:
    name: str
    frame: pd.DataFrame | None = None
    #: why there is nothing to show (the panel's empty-state message); None when ``frame`` has rows
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.frame is not None and not self.frame.empty


def _existing_columns(con: Any, name: str) -> list[str] | None:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position",
        [SCHEMA, name],
    ).fetchall()
    return [r[0] for r in rows] or None


def read_view(con: Any, spec: ViewSpec) -> ViewData:
    """The view's columns the dashboards use, or the reason there is nothing to show."""
    qualified = f"{SCHEMA}.{spec.name}"
    columns = _existing_columns(con, spec.name)
    if columns is None:
        return ViewData(spec.name, problem=f"Not built yet (no view {qualified}): {RUN_BI}.")
    lacking = [c for c in spec.columns if c not in columns]
    if lacking:
        return ViewData(
            spec.name,
            problem=f"Cannot be drawn: view {qualified} has no column(s) {', '.join(lacking)} "
            "(the dashboards and the Dataform SQLX disagree).",
        )
    select = ", ".join(f'"{c}"' for c in spec.columns)
    try:
        table = con.sql(f'SELECT {select} FROM "{SCHEMA}"."{spec.name}"').to_arrow_table()
    except duckdb.Error as exc:  # e.g. an upstream ML table not created yet
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ViewData(
            spec.name, problem=f"Not built yet: view {qualified} could not be read ({reason}); {RUN_BI}."
        )
    frame = table.to_pandas(date_as_object=False)
    if frame.empty:
        return ViewData(spec.name, frame=frame, problem=spec.empty_hint)
    return ViewData(spec.name, frame=frame)


def load_views(warehouse_path: Path, names: Iterable[str] = tuple(VIEWS)) -> dict[str, ViewData]:
    """Read the named views from the local DuckDB warehouse over one read-only connection."""
    from rillflow.warehouse import DuckDBWarehouse

    names = list(names)
    if not Path(warehouse_path).exists():
        problem = f"No data yet: there is no warehouse at {warehouse_path} yet; {REPLAY}."
        return {name: ViewData(name, problem=problem) for name in names}
    with DuckDBWarehouse(Path(warehouse_path)).connect(read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        return {name: read_view(con, VIEWS[name]) for name in names}
