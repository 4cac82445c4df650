"""Charts as inline SVG strings, drawn with matplotlib's SVG backend (no pyplot global state).

Every chart has a title, a subtitle with the data's date range, and labelled axes with units.
Text stays text (``svg.fonttype = none``), so the pages stay small and searchable.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
import pandas as pd
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from dashboards.kpis import HIGH_RISK_SCORE, forecast_totals, money

PALETTE = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#84cc16", "#ec4899"]
#: matplotlib settings for every chart (typed loosely: matplotlib's stubs list every rc key as a Literal)
RC: dict[Any, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "rillflow-dashboards",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": cycler(color=PALETTE),
}


def date_range(values: pd.Series, with_hours: bool = False) -> str:
    """The data's first and last day (or hour), e.g. "2024-01-10 – 2024-01-19"."""
    stamps = pd.to_datetime(values.dropna())
    fmt = "%Y-%m-%d %H:00 UTC" if with_hours else "%Y-%m-%d"
    first, last = stamps.min().strftime(fmt), stamps.max().strftime(fmt)
    return first if first == last else f"{first} – {last}"


@contextmanager
def _figure(title: str, subtitle: str, height: float = 3.4) -> Iterator[tuple[Figure, Axes]]:
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(7.6, height), layout="constrained")
        FigureCanvasSVG(fig)
        ax = fig.add_subplot()
        ax.set_title(f"{title}\n", loc="left", fontsize=11, fontweight="bold")
        ax.set_title(subtitle, loc="right", fontsize=8, color="#555555")
        yield fig, ax


def _svg(fig: Figure, prefix: str) -> str:
    """The figure as an ``<svg>`` element whose ids are unique within a page holding many charts."""
    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r'id="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', text)
    # let CSS size it: drop the fixed pt width/height of the root element, keep its viewBox
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)


def _legend(fig: Figure, ax: Axes, title: str | None = None) -> None:
    """The legend under the plot, never over it (stacked bars reach the top left corner, and a
    legend inside the axes covered them; one beside the plot squeezed it and met the titles).
    Constrained layout makes room for it."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, title=title, loc="outside lower center", ncols=min(len(labels), 5),
               fontsize=8, title_fontsize=8, frameon=False)  # fmt: skip


def _usd_axis(axis: Any) -> None:
    axis.set_major_formatter(lambda v, _pos: money(v, cents=False))


def _time_axis(ax: Axes) -> None:
    locator = AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _hourly_events_svg(fig: Any, ax: Any, name: str) -> str:
    """Finish an events-per-hour chart (axes, time ticks, legend) and render it."""
    ax.set_xlabel("Hour (UTC)")
    ax.set_ylabel("Events per hour")
    ax.set_ylim(bottom=0)
    _time_axis(ax)
    _legend(fig, ax)
    return _svg(fig, name)


def _naive(values: pd.Series | pd.Index) -> pd.DatetimeIndex:
    """UTC timestamps without tz (matplotlib plots tz-aware values fine, but naive keeps labels in UTC)."""
    stamps = pd.DatetimeIndex(pd.to_datetime(values))
    return stamps.tz_convert("UTC").tz_localize(None) if stamps.tz is not None else stamps


def daily_revenue_chart(df: pd.DataFrame) -> str:
    pivot = df.pivot_table(index="order_date", columns="channel", values="revenue_usd", aggfunc="sum").fillna(
        0
    )
    pivot = pivot.sort_index()
    with _figure("Daily revenue by channel", date_range(df["order_date"])) as (fig, ax):
        days, bottom = _naive(pivot.index), pd.Series(0.0, index=pivot.index)
        for channel in pivot.columns:
            ax.bar(days, pivot[channel], bottom=bottom, width=0.8, label=str(channel))
            bottom = bottom + pivot[channel]
        ax.set_xlabel("Order date (UTC)")
        ax.set_ylabel("Completed revenue (USD)")
        _usd_axis(ax.yaxis)
        _time_axis(ax)
        _legend(fig, ax, "Channel")
        return _svg(fig, "rev")


FUNNEL_STEPS = {
    "sessions": "All sessions",
    "sessions_with_product_view": "Product view",
    "sessions_with_add_to_cart": "Add to cart",
    "sessions_with_checkout": "Checkout",
    "sessions_with_purchase": "Purchase",
}


def funnel_chart(df: pd.DataFrame) -> str:
    df = df.sort_values("session_date")
    with _figure("Website funnel: sessions reaching each step", date_range(df["session_date"])) as (fig, ax):
        days = _naive(df["session_date"])
        for column, label in FUNNEL_STEPS.items():
            ax.plot(days, df[column], marker="o", markersize=3, label=label)
        ax.set_xlabel("Session date (UTC)")
        ax.set_ylabel("Sessions per day")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0)
        _time_axis(ax)
        _legend(fig, ax)
        return _svg(fig, "funnel")


def activity_chart(df: pd.DataFrame) -> str:
    per_hour = df.groupby("event_hour")[["events", "installs", "purchases"]].sum().sort_index()
    subtitle = date_range(df["event_hour"], with_hours=True)
    with _figure("App activity per hour (modelled in the lake)", subtitle) as (fig, ax):
        hours = _naive(per_hour.index)
        ax.plot(hours, per_hour["events"], label="All events", linewidth=2)
        ax.plot(hours, per_hour["installs"], label="Installs")
        ax.plot(hours, per_hour["purchases"], label="Purchases")
        return _hourly_events_svg(fig, ax, "activity")


def live_activity_chart(df: pd.DataFrame) -> str:
    pivot = df.pivot_table(index="event_hour", columns="event_type", values="event_count", aggfunc="sum")
    pivot = pivot.fillna(0).sort_index()
    subtitle = date_range(df["event_hour"], with_hours=True)
    with _figure("Live app activity per hour (streaming, not modelled yet)", subtitle) as (fig, ax):
        hours, bottom = _naive(pivot.index), pd.Series(0.0, index=pivot.index)
        width = 0.8 / 24  # 80% of an hour, in days
        for event_type in pivot.columns:
            ax.bar(hours, pivot[event_type], bottom=bottom, width=width, align="edge", label=str(event_type))
            bottom = bottom + pivot[event_type]
        ax.set_xlabel("Hour (UTC)")
        ax.set_ylabel("Events per hour")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        _time_axis(ax)
        _legend(fig, ax, "Event type")
        return _svg(fig, "live")


def funding_chart(df: pd.DataFrame) -> str:
    df = df.sort_values("total_funding_usd")
    height = max(2.6, 1.2 + 0.3 * len(df))
    with _figure("Startup funding by sector (current versions)", "snapshot", height) as (fig, ax):
        bars = ax.barh(df["sector"].astype(str), df["total_funding_usd"], color=PALETTE[0])
        labels = [
            f"{s:,} startups ({a:,} active)"
            for s, a in zip(df["startups"], df["active_startups"], strict=True)
        ]
        ax.bar_label(bars, labels=labels, padding=3, fontsize=8)
        ax.set_xlabel("Total funding (USD)")
        _usd_axis(ax.xaxis)
        ax.set_ylabel("Sector")
        ax.margins(x=0.3)
        return _svg(fig, "funding")


def score_distribution_chart(df: pd.DataFrame) -> str:
    buckets = df.groupby("score_bucket")["customers"].sum().reindex([b / 10 for b in range(10)], fill_value=0)
    subtitle = f"scores as of {date_range(df['as_of_date'])}"
    with _figure("Churn score distribution (latest scores)", subtitle) as (fig, ax):
        colors = [PALETTE[3] if b >= HIGH_RISK_SCORE - 1e-9 else PALETTE[0] for b in buckets.index]
        ax.bar(buckets.index, buckets.values, width=0.09, align="edge", color=colors)
        ax.axvline(HIGH_RISK_SCORE, color="#555555", linestyle="--", linewidth=1)
        ax.annotate("high risk →", (HIGH_RISK_SCORE, 1), xycoords=("data", "axes fraction"),
                    xytext=(4, -12), textcoords="offset points", fontsize=8)  # fmt: skip
        ax.set_xlim(0, 1)
        ax.set_xticks([b / 10 for b in range(11)])
        ax.set_xlabel("Churn score (predicted probability of churning within 30 days)")
        ax.set_ylabel("Customers")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        return _svg(fig, "churn")


def forecast_chart(df: pd.DataFrame) -> str:
    totals = forecast_totals(df)
    origin = pd.Timestamp(df["origin_ts"].max())
    subtitle = date_range(df["ts_hour"], with_hours=True)
    with _figure("App events: forecast vs actual (all countries and platforms)", subtitle) as (fig, ax):
        hours = _naive(totals.index)
        if totals["lower"].notna().any():
            ax.fill_between(hours, totals["lower"], totals["upper"], alpha=0.2, color=PALETTE[0],
                            label="Prediction interval", step=None)  # fmt: skip
        ax.plot(hours, totals["predicted"], linestyle="--", color=PALETTE[0], label="Forecast")
        ax.plot(hours, totals["actual"], marker="o", markersize=3, color=PALETTE[1], label="Actual")
        ax.axvline(
            _naive(pd.Series([origin]))[0],
            color="#555555",
            linestyle=":",
            linewidth=1,
            label="Forecast origin",
        )
        return _hourly_events_svg(fig, ax, "forecast")


#: view name → chart renderer (the views with a table instead of a chart are not here)
CHARTS: dict[str, Callable[[pd.DataFrame], str]] = {
    "bi_daily_revenue": daily_revenue_chart,
    "bi_funnel_daily": funnel_chart,
    "bi_app_activity_hourly": activity_chart,
    "bi_app_activity_live": live_activity_chart,
    "bi_startup_funding_by_sector": funding_chart,
    "bi_churn_score_distribution": score_distribution_chart,
    "bi_app_forecast_vs_actual": forecast_chart,
}
