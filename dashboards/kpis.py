"""KPI numbers from the bi views' rows: pure functions of DataFrames, no I/O.

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
    """Revenue and orders on the last day, revenue over the 7 days ending on it (bi_daily_revenue)."""
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
        ),
        Kpi(
            "Revenue, last 7 days",
            float(daily_revenue.loc[last_7, "revenue_usd"].sum()),
            "usd",
            f"{_day(last - pd.Timedelta(days=6))} – {_day(last)}",
        ),
        Kpi("Orders, last day", int(daily_revenue.loc[on_last, "orders"].sum()), "int", f"on {_day(last)}"),
    ]


def funnel_kpis(funnel: pd.DataFrame) -> list[Kpi]:
    """Sessions and session conversion (sessions with a purchase / sessions) on the last day."""
    days = _dates(funnel["session_date"])
    last = days.max()
    row = funnel.loc[days == last]
    sessions = int(row["sessions"].sum())
    purchases = float(row["sessions_with_purchase"].sum())
    return [
        Kpi("Web sessions, last day", sessions, "int", f"on {_day(last)}"),
        Kpi("Conversion, last day", purchases / sessions if sessions else None, "pct", f"on {_day(last)}"),
    ]


def hourly_events(hourly: pd.DataFrame | None, live: pd.DataFrame | None) -> pd.Series:
    """App events per hour (UTC): the modelled hours, then the streaming hours not modelled yet.

    The two views never overlap (bi_app_activity_live only has hours after the last modelled one).
    """
    parts = []
    if hourly is not None and not hourly.empty:
        parts.append(hourly.groupby("event_hour")["events"].sum())
    if live is not None and not live.empty:
        parts.append(live.groupby("event_hour")["event_count"].sum())
    if not parts:
        return pd.Series(dtype="float64")
    return pd.concat(parts).groupby(level=0).sum().sort_index()


def activity_kpis(hourly: pd.DataFrame | None, live: pd.DataFrame | None) -> list[Kpi]:
    """App events on the newest UTC day (modelled + live), and how many hours are live-only."""
    per_hour = hourly_events(hourly, live)
    if per_hour.empty:
        return []
    hours = pd.to_datetime(per_hour.index)
    last_day = hours.normalize().max()
    kpis = [
        Kpi(
            "App events, last day",
            int(per_hour[hours.normalize() == last_day].sum()),
            "int",
            f"on {_day(last_day)} (UTC, up to {hours.max():%H:00})",
        )
    ]
    if live is not None and not live.empty:
        kpis.append(Kpi("Live hours not yet modelled", int(live["event_hour"].nunique()), "int", "streaming"))
    return kpis


def funding_kpis(funding: pd.DataFrame) -> list[Kpi]:
    return [
        Kpi("Startups tracked", int(funding["startups"].sum()), "int", f"{len(funding)} sectors"),
        Kpi("Startup funding", float(funding["total_funding_usd"].sum()), "usd", "current versions"),
    ]


def churn_kpis(distribution: pd.DataFrame) -> list[Kpi]:
    """Customers scored and the share at high risk (score >= HIGH_RISK_SCORE) in the latest scoring."""
    total = int(distribution["customers"].sum())
    high = int(distribution.loc[distribution["score_bucket"] >= HIGH_RISK_SCORE - 1e-9, "customers"].sum())
    as_of = _day(distribution["as_of_date"].max())
    models = sorted(
        {f"{m} v{v}" for m, v in zip(distribution["model_name"], distribution["model_version"], strict=True)}
    )
    return [
        Kpi("Customers scored", total, "int", f"as of {as_of}"),
        Kpi(
            f"Share at high risk (score ≥ {HIGH_RISK_SCORE:g})",
            high / total if total else None,
            "pct",
            f"{high:,} customers",
        ),
        Kpi("Churn model", ", ".join(models), "text", f"scores as of {as_of}"),
    ]


def forecast_totals(forecast: pd.DataFrame) -> pd.DataFrame:
    """Forecast vs actual summed over countries and platforms, per hour.

    ``actual`` is NaN for an hour unless every series has its actual; ``lower``/``upper`` are the sums
    of the per-series bounds (wider than the exact interval of the total: a conservative band).
    """
    grouped = forecast.groupby("ts_hour")
    totals = pd.DataFrame(
        {
            "predicted": grouped["predicted_count"].sum(),
            "lower": grouped["lower"].sum(min_count=1),
            "upper": grouped["upper"].sum(min_count=1),
            "actual": grouped["actual_count"].sum(min_count=1),
        }
    )
    incomplete = grouped["actual_count"].apply(lambda s: bool(s.isna().any()))
    totals.loc[incomplete, "actual"] = float("nan")
    return totals.sort_index()


def forecast_kpis(forecast: pd.DataFrame) -> list[Kpi]:
    """The newest forecast's horizon, and its error and interval coverage where actuals exist."""
    origin = pd.Timestamp(forecast["origin_ts"].max())
    through = pd.Timestamp(forecast["ts_hour"].max())
    horizon_h = int((through - origin) / pd.Timedelta(hours=1))
    known = forecast.dropna(subset=["actual_count"])
    kpis = [
        Kpi(
            "Forecast horizon",
            f"{horizon_h} h",
            "text",
            f"from {origin:%Y-%m-%d %H:00} to {through:%Y-%m-%d %H:00} UTC",
        ),
    ]
    if known.empty:
        kpis.append(Kpi("Forecast error (MAE)", None, "text", "no actuals yet"))
        return kpis
    error = (known["predicted_count"] - known["actual_count"].astype(float)).abs().mean()
    kpis.append(
        Kpi(
            "Forecast error (MAE)",
            f"{error:.2f} events/h",
            "text",
            f"{len(known):,} series-hours with actuals",
        )
    )
    banded = known.dropna(subset=["lower", "upper"])
    if not banded.empty:
        actual = banded["actual_count"].astype(float)
        inside = ((actual >= banded["lower"]) & (actual <= banded["upper"])).mean()
        kpis.append(Kpi("Actuals inside interval", float(inside), "pct", f"{len(banded):,} series-hours"))
    return kpis
