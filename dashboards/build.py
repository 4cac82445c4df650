"""Build the static dashboards: ``index.html``, ``history.html`` (pre-ML) and ``predictions.html`` (ML).

Every panel is one bi view (``data-chart="<view>"``): its chart, or an empty state that says what is
missing. A chart that fails to render becomes an empty state too, so one bad view cannot take a page
down.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from html import escape
from pathlib import Path

import pandas as pd

from dashboards import html, kpis
from dashboards.charts import CHARTS
from dashboards.views import HISTORY_VIEWS, PREDICTION_VIEWS, VIEWS, ViewData, load_views

log = logging.getLogger(__name__)

TITLES = {
    "bi_daily_revenue": "Daily revenue",
    "bi_funnel_daily": "Website funnel",
    "bi_app_activity_hourly": "App activity (modelled)",
    "bi_app_activity_live": "App activity (live, not modelled yet)",
    "bi_startup_funding_by_sector": "Startup funding by sector",
    "bi_churn_score_distribution": "Churn score distribution",
    "bi_churn_top_at_risk": "Customers most at risk of churning",
    "bi_app_forecast_vs_actual": "App activity forecast vs actual",
}
TOP_AT_RISK_COLUMNS = (
    ("customer_id", "Customer", "text"),
    ("score", "Churn score", "score"),
    ("customer_segment", "Segment", "text"),
    ("country_code", "Country", "text"),
    ("last_order_date", "Last order", "date"),
    ("lifetime_revenue_usd", "Lifetime revenue (USD)", "usd"),
)


def default_out_dir() -> Path:
    from rillflow.settings import get_settings

    return get_settings().home / "dashboards"


def _frame(data: Mapping[str, ViewData], name: str) -> pd.DataFrame | None:
    view = data.get(name)
    return view.frame if view is not None and view.ok else None


def _safe_kpis(fn: Callable[[], list[kpis.Kpi]]) -> list[kpis.Kpi]:
    try:
        return fn()
    except Exception:  # a KPI never takes the page down
        log.exception("a KPI could not be computed")
        return []


def _top_at_risk(df: pd.DataFrame) -> str:
    as_of = pd.Timestamp(df["as_of_date"].max()).date().isoformat()
    caption = f'<p class="view">{len(df):,} customers, highest score first; scores as of {as_of}</p>'
    return caption + html.table(df, TOP_AT_RISK_COLUMNS)


def render_panel(view: ViewData) -> str:
    title = TITLES[view.name]
    if not view.ok or view.frame is None:
        return html.panel(view.name, title, "", empty=view.problem or f"bi.{view.name} has no rows")
    try:
        content = (
            _top_at_risk(view.frame) if view.name == "bi_churn_top_at_risk" else CHARTS[view.name](view.frame)
        )
    except Exception as exc:
        log.exception("chart %s failed", view.name)
        return html.panel(view.name, title, "", empty=f"bi.{view.name} could not be drawn: {exc}")
    return html.panel(view.name, title, content)


def history_kpis(data: Mapping[str, ViewData]) -> list[kpis.Kpi]:
    out: list[kpis.Kpi] = []
    if (df := _frame(data, "bi_daily_revenue")) is not None:
        out += _safe_kpis(lambda: kpis.revenue_kpis(df))
    if (funnel := _frame(data, "bi_funnel_daily")) is not None:
        out += _safe_kpis(lambda: kpis.funnel_kpis(funnel))
    hourly, live = _frame(data, "bi_app_activity_hourly"), _frame(data, "bi_app_activity_live")
    out += _safe_kpis(lambda: kpis.activity_kpis(hourly, live))
    if (funding := _frame(data, "bi_startup_funding_by_sector")) is not None:
        out += _safe_kpis(lambda: kpis.funding_kpis(funding))
    return out


def prediction_kpis(data: Mapping[str, ViewData]) -> list[kpis.Kpi]:
    out: list[kpis.Kpi] = []
    if (dist := _frame(data, "bi_churn_score_distribution")) is not None:
        out += _safe_kpis(lambda: kpis.churn_kpis(dist))
    else:
        out.append(kpis.Kpi("Customers scored", None, "int", "no churn scores yet"))
    if (forecast := _frame(data, "bi_app_forecast_vs_actual")) is not None:
        out += _safe_kpis(lambda: kpis.forecast_kpis(forecast))
    else:
        out.append(kpis.Kpi("Forecast horizon", None, "text", "no forecasts yet"))
    return out


def _index(data: Mapping[str, ViewData], warehouse_path: Path) -> str:
    rows = "".join(
        f"<tr><td><code>bi.{escape(name)}</code></td>"
        f"<td>{'history' if name in HISTORY_VIEWS else 'predictions'}</td>"
        f'<td class="num">{len(v.frame) if v.frame is not None else "–"}</td>'
        f'<td class="wrap">{"ok" if v.ok else html.message(v.problem or "")}</td></tr>'
        for name, v in data.items()
    )
    pages = (
        '<ul class="pages"><li><a href="history.html">History</a>: sales, website funnel, app activity '
        "(modelled and live) and startup funding, from the Dataform marts.</li>"
        '<li><a href="predictions.html">Predictions</a>: churn scores, customers most at risk and the app '
        "activity forecast against actuals, from the ML pipelines' write-backs.</li></ul>"
    )
    status = (
        f'<section class="panel"><h2>Views</h2><p class="view">{escape(str(warehouse_path))}</p>'
        '<div class="table-wrap"><table><thead><tr><th>View</th><th>Page</th><th class="num">Rows</th>'
        f"<th>State</th></tr></thead><tbody>{rows}</tbody></table></div></section>"
    )
    return pages + status


def build(
    out_dir: Path | None = None, warehouse_path: Path | None = None, now: dt.datetime | None = None
) -> list[Path]:
    """Read the bi views and write the three pages into ``out_dir``; return the paths written."""
    from rillflow.settings import get_settings

    out = Path(out_dir) if out_dir is not None else default_out_dir()
    wh = Path(warehouse_path) if warehouse_path is not None else get_settings().warehouse_path
    data = load_views(wh, VIEWS)
    generated = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    history = html.kpi_strip(history_kpis(data)) + html.grid(render_panel(data[v]) for v in HISTORY_VIEWS)
    predictions = html.kpi_strip(prediction_kpis(data)) + html.grid(
        render_panel(data[v]) for v in PREDICTION_VIEWS
    )
    pages = {
        "index.html": html.page("Dashboards", "index.html", _index(data, wh), generated),
        "history.html": html.page("History", "history.html", history, generated),
        "predictions.html": html.page("Predictions", "predictions.html", predictions, generated),
    }
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in pages.items():
        path = out / name
        tmp = path.with_suffix(".html.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)  # a server never sees a half-written page
        written.append(path)
    return written
