"""KPI numbers from the query functions' frames: pure functions of DataFrames, no I/O.

"Last day" is the newest day present in the view (the data's own clock, not the wall clock), and
every KPI says which day or time it refers to, so a stale warehouse cannot pass for a fresh one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

#: churn scores at or above this are "high risk" (the buckets of bi_churn_score_distribution are tenths)
HIGH_RISK_SCORE = 0.7


#: (threshold, divisor, suffix) for money shown compactly, largest first
_MONEY_SCALES = ((1e12, 1e12, "T"), (1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "K"))


def money(value: float, cents: bool = True) -> str:
    """US dollars as a person reads them: ``$74.9B``, ``$12.3M``, ``$45.2K`` from ten thousand up,
    below that exact (``$1,234.56``). ``cents=False`` is for axis ticks: whole dollars, ``$20K``."""
    sign = "-" if value < 0 else ""
    v = abs(float(value))
    for i, (threshold, divisor, suffix) in enumerate(_MONEY_SCALES):
        if v >= threshold:
            scaled = v / divisor
            if scaled >= 999.95 and i > 0:  # 999.96M would read "1,000.0M": it is $1.0B
                bigger = _MONEY_SCALES[i - 1]
                scaled, suffix = v / bigger[1], bigger[2]
            text = f"{scaled:,.1f}"
            return f"{sign}${text if cents else text.removesuffix('.0')}{suffix}"
    return f"{sign}${v:,.2f}" if cents else f"{sign}${v:,.0f}"


@dataclass(frozen=True)
class Kpi:
    label: str
    value: float | int | str | None
    #: how to format ``value``: "usd", "int", "pct", "text"
    unit: str = "int"
    #: what the number refers to, e.g. "on 2024-01-19"
    note: str = ""
    #: the drill-down that lists the rows behind the number (a key of ``dashboards.drill.DRILLS``)
    drill: str | None = None

    def display(self) -> str:
        v = self.value
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return "–"
        if self.unit == "usd":
            return money(float(v))
        if self.unit == "pct":
            return f"{float(v) * 100:.1f}%"
        if self.unit == "int":
            return f"{int(v):,}"
        return str(v)


def _day(value: Any) -> str:
    return pd.Timestamp(value).date().isoformat()


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series).dt.normalize()


def revenue_kpis(daily_revenue: pd.DataFrame) -> list[Kpi]:
    """Revenue and orders on the last day, revenue over the 7 days ending on it."""
    if daily_revenue.empty:
        return []
    days = _dates(daily_revenue["order_date"])
    last = days.max()
    on_last = days == last
    last_7 = days > last - pd.Timedelta(days=7)
    return [
        Kpi(
            "Revenue, last day",
            float(daily_revenue.loc[on_last, "revenue_usd"].sum()),
            "usd",
            f"on {_day(last)}",
            "revenue",
        ),
        Kpi(
            "Revenue, last 7 days",
            float(daily_revenue.loc[last_7, "revenue_usd"].sum()),
            "usd",
            f"{_day(last - pd.Timedelta(days=6))} – {_day(last)}",
            "revenue",
        ),
        Kpi(
            "Orders, last day",
            int(daily_revenue.loc[on_last, "orders"].sum()),
            "int",
            f"on {_day(last)}",
            "revenue",
        ),
    ]


def funnel_kpis(funnel: pd.DataFrame) -> list[Kpi]:
    """Sessions and session conversion (sessions with a purchase / sessions) on the last day."""
    if funnel.empty:
        return []
    days = _dates(funnel["session_date"])
    last = days.max()
    row = funnel.loc[days == last]
    sessions = int(row["sessions"].sum())
    purchases = float(row["sessions_with_purchase"].sum())
    return [
        Kpi("Web sessions, last day", sessions, "int", f"on {_day(last)}", "funnel"),
        Kpi(
            "Conversion, last day",
            purchases / sessions if sessions else None,
            "pct",
            f"on {_day(last)}",
            "funnel",
        ),
    ]


def activity_kpis(hourly: pd.DataFrame) -> list[Kpi]:
    """Modelled app events on the newest UTC day of ``hourly`` (one row per hour, ``events``)."""
    if hourly.empty:
        return []
    hours = pd.to_datetime(hourly["event_hour"])
    days = hours.dt.tz_localize(None).dt.normalize() if hours.dt.tz is not None else hours.dt.normalize()
    last_day = days.max()
    on_last = days == last_day
    return [
        Kpi(
            "App events, last day",
            int(hourly.loc[on_last, "events"].sum()),
            "int",
            f"on {_day(last_day)} (UTC, up to {hours[on_last].max():%H:00})",
            "app_activity",
        )
    ]


def funding_kpis(funding: pd.DataFrame) -> list[Kpi]:
    if funding.empty:
        return []
    return [
        Kpi("Startups tracked", int(funding["startups"].sum()), "int", f"{len(funding)} sectors", "funding"),
        Kpi(
            "Startup funding", float(funding["total_funding_usd"].sum()), "usd", "current versions", "funding"
        ),
    ]


def churn_kpis(distribution: pd.DataFrame) -> list[Kpi]:
    """Customers scored and the share at high risk (score >= HIGH_RISK_SCORE) in the latest scoring."""
    if distribution.empty:
        return []
    total = int(distribution["customers"].sum())
    high = int(distribution.loc[distribution["score_bucket"] >= HIGH_RISK_SCORE - 1e-9, "customers"].sum())
    as_of = _day(distribution["as_of_date"].max())
    models = sorted(
        {f"{m} v{v}" for m, v in zip(distribution["model_name"], distribution["model_version"], strict=True)}
    )
    return [
        Kpi("Customers scored", total, "int", f"as of {as_of}", "at_risk"),
        Kpi(
            f"Share at high risk (score ≥ {HIGH_RISK_SCORE:g})",
            high / total if total else None,
            "pct",
            f"{high:,} customers",
            "high_risk",
        ),
        Kpi("Churn model", ", ".join(models), "text", f"scores as of {as_of}"),
    ]


def forecast_kpis(accuracy: pd.DataFrame) -> list[Kpi]:
    """The newest forecast's horizon, its model, and its error and interval coverage where actuals
    exist (``accuracy``: :func:`dashboards.queries.forecast_accuracy`, one row per model version)."""
    if accuracy.empty:
        return []
    origin = pd.Timestamp(accuracy["origin_ts"].max())
    through = pd.Timestamp(accuracy["last_hour"].max())
    horizon_h = int((through - origin) / pd.Timedelta(hours=1))
    models = ", ".join(
        f"{m} v{v}" for m, v in zip(accuracy["model_name"], accuracy["model_version"], strict=True)
    )
    kpis = [
        Kpi(
            "Forecast horizon",
            f"{horizon_h} h",
            "text",
            f"from {origin:%Y-%m-%d %H:00} to {through:%Y-%m-%d %H:00} UTC",
        ),
        Kpi("Forecaster", models, "text", "model versions of the newest forecasts"),
    ]
    known = int(accuracy["with_actual"].sum())
    if not known:
        kpis.append(Kpi("Forecast error (MAE)", None, "text", "no actuals yet"))
        return kpis
    weights = accuracy["with_actual"].astype(float)
    error = float((accuracy["mae"].astype(float).fillna(0.0) * weights).sum() / weights.sum())
    kpis.append(
        Kpi(
            "Forecast error (MAE)",
            f"{error:.2f} events/h",
            "text",
            f"{known:,} series-hours with actuals",
            "forecast",
        )
    )
    inside = int(accuracy["inside"].sum())
    kpis.append(Kpi("Actuals inside interval", inside / known, "pct", f"{known:,} series-hours", "forecast"))
    return kpis


def live_kpis(by_country: pd.DataFrame, hours: int) -> list[Kpi]:
    """Events and revenue in the live window, the newest streamed hour, the countries seen."""
    if by_country.empty:
        return []
    newest = pd.Timestamp(by_country["event_hour"].max())
    return [
        Kpi(
            "Events streamed", int(by_country["events"].sum()), "int", f"last {hours} h of the stream", "live"
        ),
        Kpi(
            "Newest hour", f"{newest:%H:00}", "text", f"{newest:%Y-%m-%d} UTC (may still be filling)", "live"
        ),
        Kpi("Countries", int(by_country["country_code"].nunique()), "int", f"last {hours} h", "live"),
        Kpi("In-app revenue", float(by_country["revenue_usd"].sum()), "usd", f"last {hours} h", "live"),
    ]


def comparison_kpis(churn: pd.DataFrame | None, forecast: pd.DataFrame | None) -> list[Kpi]:
    """Vertex vs BigQuery ML: how far apart the churn scores are (``churn_comparison_summary``) and
    each forecaster's MAE over the series-hours with an actual (``forecast_comparison_by_hour``)."""
    out: list[Kpi] = []
    if churn is not None and not churn.empty and int(churn["customers"].iloc[0]):
        row = churn.iloc[0]
        out.append(
            Kpi(
                "Churn score gap, Vertex vs BQML",
                f"{float(row['mean_abs_difference']):.3f}",
                "text",
                f"mean |BQML − Vertex| over {int(row['customers']):,} customers, {_day(row['as_of_date'])}",
                "churn_comparison",
            )
        )
    if forecast is not None and not forecast.empty:
        parts = []
        for model in ("vertex", "bqml"):
            n = forecast[f"{model}_n"].astype(float)
            parts.append(
                float((forecast[f"{model}_mae"].astype(float).fillna(0.0) * n).sum() / n.sum())
                if n.sum()
                else None
            )
        vertex, bqml = parts
        shown = " / ".join("–" if v is None else f"{v:.2f}" for v in (vertex, bqml))
        known = int(max(forecast["vertex_n"].sum(), forecast["bqml_n"].sum()))
        note = f"Vertex / BQML, events/h over {known:,} series-hours" if known else "no actuals yet"
        out.append(Kpi("Forecast MAE, Vertex / BQML", shown, "text", note, "forecast_comparison"))
    return out
