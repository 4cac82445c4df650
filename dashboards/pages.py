"""What each page shows, as plain functions of (warehouse, filters): its panels, KPIs and drill-downs.

The Dash app (:mod:`dashboards.app`) only lays these out and wires them to the browser; this
module decides what a panel shows (a chart, a table, or the sentence that says why it is empty)
and is tested without a browser. One view that cannot be read never takes a page down: its
panel becomes an empty state and the error is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboards import figures, kpis, queries
from dashboards.filters import Filters
from dashboards.views import VIEWS, empty_text, problem_text

log = logging.getLogger(__name__)

Query = Callable[[Any, Filters], pd.DataFrame]


@dataclass(frozen=True)
class Panel:
    id: str
    view: str
    query: Query
    #: the chart; None shows the rows as a table
    draw: Callable[[pd.DataFrame], go.Figure] | None = None
    #: the columns a table shows: (column, header)
    columns: tuple[tuple[str, str], ...] = ()


@dataclass
class Shown:
    panel: Panel
    frame: pd.DataFrame | None = None
    figure: go.Figure | None = None
    #: why there is nothing to show (the panel's empty state); None when it is drawn
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class Drill:
    title: str
    view: str
    query: Query


@dataclass(frozen=True)
class Page:
    key: str
    title: str
    path: str
    blurb: str
    panels: tuple[Panel, ...]
    #: which filters the page offers: "dates", "country", "platform", "channel", "hours"
    filters: tuple[str, ...]
    #: (view, column) whose distinct values a filter offers
    choices: dict[str, tuple[str, str]] = field(default_factory=dict)


AT_RISK_COLUMNS = (
    ("customer_id", "Customer"),
    ("score", "Churn score"),
    ("customer_segment", "Segment"),
    ("country_code", "Country"),
    ("last_order_date", "Last order"),
    ("lifetime_revenue_usd", "Lifetime revenue (USD)"),
)

HISTORY = Page(
    "history",
    "History",
    "/",
    "Sales, the website funnel, modelled app activity and startup funding (pre-ML).",
    (
        Panel("revenue", "bi_daily_revenue", queries.revenue_by_day_and_channel, figures.revenue),
        Panel("funnel", "bi_funnel_daily", queries.funnel_by_day, figures.funnel),
        Panel("app-activity", "bi_app_activity_hourly", queries.app_activity_by_hour, figures.app_activity),
        Panel("funding", "bi_startup_funding_by_sector", queries.funding_by_sector, figures.funding),
    ),
    ("dates", "country", "channel"),
    {"country": ("bi_daily_revenue", "country_code"), "channel": ("bi_daily_revenue", "channel")},
)
PREDICTIONS = Page(
    "predictions",
    "Predictions",
    "/predictions",
    "Churn scores, the customers most at risk and the app activity forecast against actuals (post-ML).",
    (
        Panel("churn", "bi_churn_score_distribution", queries.churn_distribution, figures.churn_histogram),
        Panel("at-risk", "bi_churn_top_at_risk", queries.customers_at_risk, None, AT_RISK_COLUMNS),
        Panel("forecast", "bi_app_forecast_vs_actual", queries.forecast_by_hour, figures.forecast),
        Panel("churn-vs", "bi_churn_model_comparison", queries.churn_comparison, figures.churn_comparison),
        Panel(
            "forecast-vs",
            "bi_forecast_model_comparison",
            queries.forecast_comparison_by_hour,
            figures.forecast_comparison,
        ),
    ),
    ("country", "platform"),
    {
        "country": ("bi_app_forecast_vs_actual", "country"),
        "platform": ("bi_app_forecast_vs_actual", "platform"),
    },
)
LIVE = Page(
    "live",
    "Live",
    "/live",
    "App events from the stream, for the hours the daily pipeline has not modelled yet; refreshed every few seconds.",
    (
        Panel("live-countries", "bi_app_activity_live", queries.live_by_country, figures.live_countries),
        Panel("live-platforms", "bi_app_activity_live", queries.live_by_platform, figures.live_platforms),
    ),
    ("hours", "country", "platform"),
    {"country": ("bi_app_activity_live", "country_code"), "platform": ("bi_app_activity_live", "platform")},
)
PAGES: dict[str, Page] = {p.key: p for p in (HISTORY, PREDICTIONS, LIVE)}

DRILLS: dict[str, Drill] = {
    "revenue": Drill("Revenue and orders: day × channel × country", "bi_daily_revenue", queries.revenue_rows),
    "funnel": Drill("Website funnel per day", "bi_funnel_daily", queries.funnel_by_day),
    "app_activity": Drill(
        "Modelled app activity per hour", "bi_app_activity_hourly", queries.app_activity_by_hour
    ),
    "funding": Drill(
        "Startups and funding per sector", "bi_startup_funding_by_sector", queries.funding_by_sector
    ),
    "at_risk": Drill(
        "The customers most at risk (the view keeps the top 100)",
        "bi_churn_top_at_risk",
        queries.customers_at_risk,
    ),
    "high_risk": Drill(
        f"Customers at high risk (score ≥ {kpis.HIGH_RISK_SCORE:g}, among the top 100)",
        "bi_churn_top_at_risk",
        lambda wh, f: queries.customers_at_risk(wh, f, kpis.HIGH_RISK_SCORE),
    ),
    "forecast": Drill(
        "Series-hours with an actual, largest error first", "bi_app_forecast_vs_actual", queries.forecast_rows
    ),
    "churn_comparison": Drill(
        "Customers the two churn models disagree on most",
        "bi_churn_model_comparison",
        queries.churn_comparison_rows,
    ),
    "forecast_comparison": Drill(
        "Series-hours with an actual: both forecasts",
        "bi_forecast_model_comparison",
        queries.forecast_comparison_rows,
    ),
    "live": Drill(
        "Streamed rows: hour × country × platform × event type", "bi_app_activity_live", queries.live_rows
    ),
}


def _filtered(f: Filters) -> bool:
    return bool(f.countries or f.platforms or f.channels)


def show(panel: Panel, warehouse: Any, f: Filters, hints: dict[str, str] | None = None) -> Shown:
    """Query and draw one panel, or say why it cannot be shown."""
    try:
        df = panel.query(warehouse, f)
    except Exception as exc:  # a missing view or table is an empty state, never a broken page
        log.warning("panel %s: bi.%s could not be read: %s", panel.id, panel.view, exc)
        return Shown(panel, problem=problem_text(panel.view, exc, hints))
    if df.empty:
        problem = empty_text(panel.view, hints)
        if _filtered(f) or f.start or f.end:
            problem = f"Nothing matches the selected filters. {problem}"
        return Shown(panel, frame=df, problem=problem)
    if panel.draw is None:
        return Shown(panel, frame=df)
    try:
        return Shown(panel, frame=df, figure=panel.draw(df))
    except Exception as exc:
        log.exception("panel %s could not be drawn", panel.id)
        return Shown(panel, frame=df, problem=f"{VIEWS[panel.view].title} could not be drawn: {exc}")


def _frame(shown: dict[str, Shown], panel_id: str) -> pd.DataFrame | None:
    s = shown.get(panel_id)
    return s.frame if s is not None and s.frame is not None and not s.frame.empty else None


def _safe(fn: Callable[[], list[kpis.Kpi]]) -> list[kpis.Kpi]:
    try:
        return fn()
    except Exception:  # a KPI never takes the page down
        log.exception("a KPI could not be computed")
        return []


def page_kpis(page: Page, shown: dict[str, Shown], warehouse: Any, f: Filters) -> list[kpis.Kpi]:
    """The page's KPIs, from the frames its panels read (the forecast's accuracy: one more query)."""
    out: list[kpis.Kpi] = []
    if page.key == "history":
        if (df := _frame(shown, "revenue")) is not None:
            out += _safe(lambda: kpis.revenue_kpis(df))
        if (funnel := _frame(shown, "funnel")) is not None:
            out += _safe(lambda: kpis.funnel_kpis(funnel))
        if (hourly := _frame(shown, "app-activity")) is not None:
            out += _safe(lambda: kpis.activity_kpis(hourly))
        if (funding := _frame(shown, "funding")) is not None:
            out += _safe(lambda: kpis.funding_kpis(funding))
    elif page.key == "predictions":
        if (dist := _frame(shown, "churn")) is not None:
            out += _safe(lambda: kpis.churn_kpis(dist))
        else:
            out.append(kpis.Kpi("Customers scored", None, "int", "no churn scores yet"))
        if _frame(shown, "forecast") is not None:
            out += _safe(lambda: kpis.forecast_kpis(queries.forecast_accuracy(warehouse, f)))
        else:
            out.append(kpis.Kpi("Forecast horizon", None, "text", "no forecasts yet"))
        summary = None
        if _frame(shown, "churn-vs") is not None:
            try:
                summary = queries.churn_comparison_summary(warehouse, f)
            except Exception:
                log.exception("the churn comparison summary could not be read")
        versus = _frame(shown, "forecast-vs")
        out += _safe(lambda: kpis.comparison_kpis(summary, versus))
    elif page.key == "live":
        if (live := _frame(shown, "live-countries")) is not None:
            out += _safe(lambda: kpis.live_kpis(live, f.hours))
        else:
            out.append(kpis.Kpi("Events streamed", None, "int", f"nothing in the last {f.hours} h"))
    return out


def render(
    page: Page, warehouse: Any, f: Filters, hints: dict[str, str] | None = None
) -> tuple[list[kpis.Kpi], list[Shown]]:
    """Every panel of ``page`` and its KPIs, queried now."""
    shown = {p.id: show(p, warehouse, f, hints) for p in page.panels}
    return page_kpis(page, shown, warehouse, f), list(shown.values())


def drill(
    key: str, warehouse: Any, f: Filters, hints: dict[str, str] | None = None
) -> tuple[Drill, pd.DataFrame | None, str | None]:
    """The rows behind a KPI: (what they are, the rows, or why there are none)."""
    spec = DRILLS[key]
    try:
        df = spec.query(warehouse, f)
    except Exception as exc:
        log.warning("drill %s: %s", key, exc)
        return spec, None, problem_text(spec.view, exc, hints)
    return spec, df, None if not df.empty else "No rows for the selected filters."


def choices(page: Page, warehouse: Any) -> dict[str, list[str]]:
    """The values each filter of ``page`` offers (empty when the view cannot be read yet)."""
    out: dict[str, list[str]] = {}
    for name, (view_name, column) in page.choices.items():
        try:
            out[name] = queries.distinct(warehouse, view_name, column)
        except Exception as exc:
            log.info("no %s choices from bi.%s: %s", name, view_name, exc)
            out[name] = []
    return out


def display_rows(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as a table shows them: timestamps as UTC text, dates as days, floats rounded."""
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            out[column] = series.dt.strftime("%Y-%m-%d %H:%M UTC")
        elif pd.api.types.is_datetime64_any_dtype(series):
            out[column] = series.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_float_dtype(series):
            out[column] = series.round(4 if column in {"score", "score_bucket"} else 2)
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in out.to_dict("records")]
