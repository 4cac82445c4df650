"""``rillflow dashboards serve``: the live dashboard app (Dash) over the warehouse's bi views."""

from __future__ import annotations

from typing import Any

import click


def local_hints() -> dict[str, str]:
    """Empty-state texts for the ML views that say after how many days of history each model first
    trains here, and what gets there (the cloud image keeps the views' general texts)."""
    from rillflow.commands.history import (
        DEFAULT_FIRST_DAY,
        Milestone,
        churn_milestone,
        forecaster_milestone,
        with_margin,
    )

    def first_model(milestone: Milestone, what: str) -> str:
        return (
            f"No {what} yet: {milestone.label} first trains after ~{milestone.days} days of history "
            f"— run `rillflow backfill --days {with_margin(milestone.days)}` (minutes) or `make demo`."
        )

    churn = first_model(churn_milestone(DEFAULT_FIRST_DAY), "churn scores")
    return {
        "bi_churn_score_distribution": churn,
        "bi_churn_top_at_risk": churn,
        "bi_app_forecast_vs_actual": first_model(forecaster_milestone(), "forecasts"),
    }


def local_dashboards(settings: Any) -> tuple[Any, dict[str, str] | None]:
    """The local warehouse, read only, and :func:`local_hints` (``rillflow.resources``)."""
    from dashboards.serve import LocalWarehouse
    from rillflow.warehouse import duckdb_warehouse

    return LocalWarehouse(duckdb_warehouse(settings), settings.warehouse_path), local_hints()


def cloud_dashboards(settings: Any) -> tuple[Any, dict[str, str] | None]:
    """BigQuery, and the views' own empty-state texts (``rillflow.resources``)."""
    from rillflow.warehouse import bigquery_warehouse

    return bigquery_warehouse(settings), None


@click.group("dashboards")
def dashboards_group() -> None:
    """The live History (pre-ML), Predictions (ML) and Live dashboards over the bi views."""


@dashboards_group.command("serve")
@click.option(
    "--port", type=int, default=None, help="0 picks a free port [default: the settings' dashboard port]"
)
def serve_command(port: int | None) -> None:
    """Serve the dashboard app on http://127.0.0.1:PORT/ until interrupted.

    Every page queries the bi views when it is loaded (the Live page every few seconds), through
    the environment's warehouse: the local DuckDB file here, read only.
    """
    from dashboards.app import create_app
    from dashboards.serve import make_app_server, url_of
    from rillflow.resources import resources
    from rillflow.settings import get_settings

    settings = get_settings()
    warehouse, hints = resources(settings).dashboards(settings)
    server = make_app_server(create_app(warehouse, hints), settings.ports.dashboard if port is None else port)
    click.echo(f"dashboards on {url_of(server)} (History, Predictions: /predictions, Live: /live)", nl=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
