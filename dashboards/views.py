"""The bi views the pages read, their titles, and what an empty or unreadable one tells a user.

A panel's view can be missing (the bi views were not built), unreadable (a table it reads does
not exist yet, e.g. before the first model wrote back) or empty (nothing replayed or streamed
yet). None of these is an error of the dashboards: the panel keeps its place and says, to the
person reading it, what is missing and what fills it (:func:`problem_text`).
"""

from __future__ import annotations

from dataclasses import dataclass

REPLAY = "locally, fill some days with `rillflow backfill` or `rillflow run` (or `make demo`)"
RUN_BI = "build them with `rillflow dataform run --tags daily,ml,bi` (in the cloud: the daily workflow)"


@dataclass(frozen=True)
class ViewSpec:
    name: str
    page: str
    title: str
    #: what an empty view means in normal operation, and what fills it
    empty_hint: str


VIEWS: dict[str, ViewSpec] = {
    spec.name: spec
    for spec in (
        ViewSpec("bi_daily_revenue", "history", "Daily revenue by channel", f"No sales yet: {REPLAY}."),
        ViewSpec("bi_funnel_daily", "history", "Website funnel", f"No website sessions yet: {REPLAY}."),
        ViewSpec(
            "bi_app_activity_hourly",
            "history",
            "App activity per hour (modelled)",
            f"No app activity yet: {REPLAY}; a day shows here once its daily pipeline has run.",
        ),
        ViewSpec(
            "bi_startup_funding_by_sector",
            "history",
            "Startup funding by sector",
            f"No startups yet: the startups API is loaded on the first day and every Friday; {REPLAY}.",
        ),
        ViewSpec(
            "bi_churn_score_distribution",
            "predictions",
            "Churn score distribution",
            "No churn scores yet: the churn model scores customers once it has trained on enough "
            f"history; {REPLAY}.",
        ),
        ViewSpec(
            "bi_churn_top_at_risk",
            "predictions",
            "Customers most at risk of churning",
            "No churn scores yet: the churn model scores customers once it has trained on enough "
            f"history; {REPLAY}.",
        ),
        ViewSpec(
            "bi_app_forecast_vs_actual",
            "predictions",
            "App activity forecast vs actual",
            f"No forecasts yet: the forecaster writes them once it has trained on enough history; {REPLAY}.",
        ),
        ViewSpec(
            "bi_churn_model_comparison",
            "predictions",
            "Churn: Vertex vs BigQuery ML",
            "No churn scores from both models yet: the comparison fills once the Vertex churn model and "
            f"BigQuery ML's LOGISTIC_REG have scored the same day; {REPLAY}.",
        ),
        ViewSpec(
            "bi_forecast_model_comparison",
            "predictions",
            "Forecast: Vertex vs BigQuery ML",
            "No forecasts from either model yet: the comparison fills once the Vertex forecaster or "
            f"BigQuery ML's ARIMA_PLUS has forecast; {REPLAY}.",
        ),
        ViewSpec(
            "bi_app_activity_live",
            "live",
            "App events streaming in",
            "Nothing streamed since the last modelled hour: this page shows the app events the daily "
            "pipeline has not modelled yet, so it is empty right after a pipeline run and while the "
            "stream is stopped (`rillflow run` or `make demo` streams).",
        ),
    )
}


def problem_text(name: str, error: BaseException, hints: dict[str, str] | None = None) -> str:
    """What to tell a user when ``bi.<name>`` could not be read (``error``: what the warehouse raised)."""
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, NoWarehouse):
        return str(error)
    if "access denied" in first.lower():  # in the cloud: the views' upstream datasets not authorised
        return f"The app may not read bi.{name} or a table under it ({first}): see docs/DEPLOY.md."
    if VIEWS[name].page == "predictions" and "ml_" in first:  # no ML write-back table yet
        return empty_text(name, hints)
    return f"Not built yet: the view bi.{name} could not be read ({first}); {RUN_BI}."


def empty_text(name: str, hints: dict[str, str] | None = None) -> str:
    return (hints or {}).get(name) or VIEWS[name].empty_hint


class NoWarehouse(RuntimeError):
    """There is no local warehouse file yet (the dashboards do not create one)."""
