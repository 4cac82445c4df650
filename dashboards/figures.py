"""Plotly figures from the query functions' frames: pure functions, no I/O, no Dash.

Every chart has a title whose second line is the data's range (UTC), labelled axes with units,
and the same palette; money is in US dollars on every axis and hover label.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboards.kpis import HIGH_RISK_SCORE

PALETTE = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#84cc16", "#ec4899"]
OTHER = "#9ca3af"
#: countries drawn by name on the live chart; the rest are summed as "other"
TOP_COUNTRIES = 8


def date_range(values: pd.Series, with_hours: bool = False) -> str:
    """The data's first and last day (or hour), e.g. "2024-01-10 – 2024-01-19"."""
    stamps = pd.to_datetime(values.dropna())
    if stamps.empty:
        return ""
    fmt = "%Y-%m-%d %H:00 UTC" if with_hours else "%Y-%m-%d"
    first, last = stamps.min().strftime(fmt), stamps.max().strftime(fmt)
    return first if first == last else f"{first} – {last}"


def _layout(fig: go.Figure, title: str, subtitle: str, x: str, y: str, money_axis: bool = False) -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        title={"text": f"{title}<br><sup>{subtitle}</sup>", "x": 0.01, "xanchor": "left"},
        margin={"l": 60, "r": 20, "t": 70, "b": 50},
        height=360,
        # beside the plot, never under it (there it met the x-axis title) nor over bars and lines
        legend={"orientation": "v", "yanchor": "top", "y": 1, "x": 1.02, "xanchor": "left"},
        hovermode="x unified",
        uirevision=title,  # a refresh keeps what the user zoomed or hid
        colorway=PALETTE,
        font={"family": "DejaVu Sans, Arial, sans-serif", "size": 12},
    )
    fig.update_xaxes(title_text=x)
    fig.update_yaxes(title_text=y, rangemode="tozero")
    if money_axis:
        fig.update_yaxes(tickprefix="$", tickformat=",.3~s")
    return fig


def revenue(df: pd.DataFrame) -> go.Figure:
    """Daily revenue stacked by channel (``revenue_by_day_and_channel``)."""
    fig = go.Figure()
    for channel, rows in df.groupby("channel", sort=True):
        fig.add_bar(
            x=rows["order_date"],
            y=rows["revenue_usd"],
            name=str(channel),
            hovertemplate="%{y:$,.2f}",
        )
    fig.update_layout(barmode="stack")
    return _layout(
        fig, "Daily revenue by channel", date_range(df["order_date"]), "Order day", "Revenue (USD)", True
    )


FUNNEL_STEPS = (
    ("sessions", "Sessions"),
    ("sessions_with_product_view", "Viewed a product"),
    ("sessions_with_add_to_cart", "Added to cart"),
    ("sessions_with_checkout", "Checked out"),
    ("sessions_with_purchase", "Purchased"),
)


def funnel(df: pd.DataFrame) -> go.Figure:
    """Sessions reaching each funnel step, per day (``funnel_by_day``)."""
    fig = go.Figure()
    for column, label in FUNNEL_STEPS:
        fig.add_scatter(x=df["session_date"], y=df[column], name=label, mode="lines+markers")
    return _layout(fig, "Website funnel", date_range(df["session_date"]), "Session day", "Sessions per day")


def app_activity(df: pd.DataFrame) -> go.Figure:
    """Modelled app events, installs and purchases per hour (``app_activity_by_hour``)."""
    fig = go.Figure()
    hours = df["event_hour"].dt.tz_localize(None)
    for column, label in (("events", "All events"), ("installs", "Installs"), ("purchases", "Purchases")):
        fig.add_scatter(x=hours, y=df[column], name=label, mode="lines")
    subtitle = date_range(df["event_hour"].dt.tz_localize(None), with_hours=True)
    return _layout(fig, "App activity per hour (modelled)", subtitle, "Hour (UTC)", "Events per hour")


def funding(df: pd.DataFrame) -> go.Figure:
    """Total funding of the current startups per sector (``funding_by_sector``)."""
    ordered = df.sort_values("total_funding_usd")
    fig = go.Figure(
        go.Bar(
            x=ordered["total_funding_usd"],
            y=ordered["sector"],
            orientation="h",
            customdata=ordered[["startups", "active_startups"]],
            hovertemplate="%{y}: %{x:$,.0f}<br>%{customdata[0]} startups, %{customdata[1]} active<extra></extra>",
            marker_color=PALETTE[0],
        )
    )
    fig = _layout(
        fig, "Startup funding by sector", f"{int(df['startups'].sum()):,} startups", "Funding (USD)", ""
    )
    fig.update_xaxes(tickprefix="$", tickformat=",.3~s")
    fig.update_layout(hovermode="closest")
    return fig


def churn_histogram(df: pd.DataFrame) -> go.Figure:
    """Customers per churn score bucket (tenths); the high-risk buckets in red."""
    buckets = df.groupby("score_bucket", as_index=False)["customers"].sum()
    colours = [PALETTE[3] if b >= HIGH_RISK_SCORE - 1e-9 else PALETTE[0] for b in buckets["score_bucket"]]
    fig = go.Figure(
        go.Bar(
            x=[f"{b:.1f}–{b + 0.1:.1f}" for b in buckets["score_bucket"]],
            y=buckets["customers"],
            marker_color=colours,
            hovertemplate="score %{x}: %{y:,} customers<extra></extra>",
        )
    )
    as_of = date_range(df["as_of_date"])
    fig = _layout(fig, "Churn score distribution", f"scores as of {as_of}", "Churn score", "Customers")
    fig.update_layout(hovermode="closest")
    return fig


def forecast(df: pd.DataFrame) -> go.Figure:
    """Forecast vs actual per hour with the prediction interval as a band (``forecast_by_hour``)."""
    hours = df["ts_hour"].dt.tz_localize(None)
    fig = go.Figure()
    fig.add_scatter(
        x=hours, y=df["upper"], mode="lines", line={"width": 0}, name="Upper bound", showlegend=False
    )
    fig.add_scatter(
        x=hours,
        y=df["lower"],
        mode="lines",
        line={"width": 0},
        fill="tonexty",
        fillcolor="rgba(37, 99, 235, 0.18)",
        name="Prediction interval",
    )
    fig.add_scatter(x=hours, y=df["predicted"], mode="lines", name="Forecast", line={"color": PALETTE[0]})
    fig.add_scatter(
        x=hours,
        y=df["actual"],
        mode="lines+markers",
        name="Actual",
        line={"color": PALETTE[1]},
        connectgaps=False,
    )
    subtitle = date_range(hours, with_hours=True) + " · interval: sum of the per-series bounds"
    return _layout(fig, "App activity forecast vs actual", subtitle, "Hour (UTC)", "Events per hour")


def _top_and_other(df: pd.DataFrame, key: str, limit: int) -> pd.DataFrame:
    top = df.groupby(key)["events"].sum().nlargest(limit).index
    out = df.assign(**{key: df[key].where(df[key].isin(top), "other")})
    return out.groupby(["event_hour", key], as_index=False)["events"].sum()


def live_countries(df: pd.DataFrame) -> go.Figure:
    """Streamed events per hour, stacked by country (the largest by name, the rest as "other")."""
    data = _top_and_other(df, "country_code", TOP_COUNTRIES)
    hours = data["event_hour"].dt.tz_localize(None)
    fig = go.Figure()
    order = [
        c
        for c in data.groupby("country_code")["events"].sum().sort_values(ascending=False).index
        if c != "other"
    ]
    for i, country in enumerate([*order, "other"]):
        rows = data["country_code"] == country
        if rows.any():
            colour = OTHER if country == "other" else PALETTE[i % len(PALETTE)]
            fig.add_bar(x=hours[rows], y=data.loc[rows, "events"], name=str(country), marker_color=colour)
    fig.update_layout(barmode="stack")
    subtitle = date_range(hours, with_hours=True) + " · the newest hour is still filling"
    return _layout(fig, "App events streamed, by country", subtitle, "Hour (UTC)", "Events")


def live_platforms(df: pd.DataFrame) -> go.Figure:
    """Streamed events per hour, one line per platform."""
    fig = go.Figure()
    for platform, rows in df.groupby("platform", sort=True):
        fig.add_scatter(
            x=rows["event_hour"].dt.tz_localize(None),
            y=rows["events"],
            name=str(platform),
            mode="lines+markers",
        )
    subtitle = date_range(df["event_hour"].dt.tz_localize(None), with_hours=True)
    return _layout(fig, "App events streamed, by platform", subtitle, "Hour (UTC)", "Events")


def churn_comparison(df: pd.DataFrame) -> go.Figure:
    """Each customer's Vertex score against BigQuery ML's, with the line where they agree."""
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        name="Same score",
        line={"color": OTHER, "dash": "dot"},
        hoverinfo="skip",
    )
    fig.add_scatter(
        x=df["vertex_score"],
        y=df["bqml_score"],
        mode="markers",
        name="Customer",
        marker={"color": PALETTE[4], "size": 6, "opacity": 0.6},
        customdata=df[["customer_id"]],
        hovertemplate="%{customdata[0]}: Vertex %{x:.3f}, BigQuery ML %{y:.3f}<extra></extra>",
    )
    subtitle = f"scores as of {date_range(df['as_of_date'])}, {len(df):,} customers scored by both"
    fig = _layout(
        fig, "Churn: Vertex vs BigQuery ML", subtitle, "Vertex churn score", "BigQuery ML churn score"
    )
    fig.update_xaxes(range=[0, 1])
    fig.update_yaxes(range=[0, 1])
    fig.update_layout(hovermode="closest")
    return fig


def forecast_comparison(df: pd.DataFrame) -> go.Figure:
    """Both forecasters against the actual count, per hour."""
    hours = df["ts_hour"].dt.tz_localize(None)
    fig = go.Figure()
    fig.add_scatter(
        x=hours, y=df["vertex"], mode="lines", name="Vertex forecaster", line={"color": PALETTE[0]}
    )
    fig.add_scatter(
        x=hours, y=df["bqml"], mode="lines", name="BigQuery ML ARIMA_PLUS", line={"color": PALETTE[4]}
    )
    fig.add_scatter(x=hours, y=df["actual"], mode="lines+markers", name="Actual", line={"color": PALETTE[1]})
    subtitle = date_range(hours, with_hours=True) + " · each model's newest forecast of each hour"
    return _layout(fig, "Forecast: Vertex vs BigQuery ML", subtitle, "Hour (UTC)", "Events per hour")
