"""``rillflow demo``: the platform end to end on this machine, on embedded defaults.

Starts the local Google Cloud (or uses the one ``rillflow local up`` started), replays a week
on the virtual clock — the batch flows, the app-event stream, the daily workflow with Dataform
and the ML pipelines — reconciles every flow, and prints what the warehouse now holds.
"""

from __future__ import annotations

import json
from datetime import datetime

import click
from rich.console import Console
from rich.table import Table

from rillflow.commands.run import print_reconciliation, print_report, replay
from rillflow.settings import Settings, get_settings
from rillflow.warehouse import DuckDBWarehouse


def ml_summary() -> list[str]:
    """What the latest daily ML pipeline run did, model by model (trained, scored, or why it skipped)."""
    from ml.pipelines.local_runner import list_pipeline_jobs

    jobs = list_pipeline_jobs()
    if not jobs:
        return ["no ML pipeline has run yet"]
    last = jobs[-1]
    lines = [
        f"latest pipeline {last.get('pipeline')} for {last.get('parameter_values', {}).get('as_of_date')}: {last.get('state')}"
    ]
    for model, outcome in sorted((last.get("outputs") or {}).items()):
        if isinstance(outcome, dict) and outcome.get("skipped"):
            lines.append(f"  {model}: skipped — {outcome.get('reason')}")
        else:
            lines.append(f"  {model}: {json.dumps(outcome, default=str)[:300]}")
    return lines


def warehouse_summary(settings: Settings) -> list[tuple[str, int]]:
    """Row counts of every table and view in the local warehouse, by dataset."""
    if not settings.warehouse_path.exists():
        return []
    wh = DuckDBWarehouse(settings.warehouse_path)
    names = (
        wh.query(
            "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('information_schema', 'pg_catalog') ORDER BY 1"
        )
        .column("name")
        .to_pylist()
    )
    counts = []
    for name in names:
        schema, table = name.split(".", 1)
        n = wh.query(f'SELECT count(*) AS n FROM "{schema}"."{table}"').column("n")[0].as_py()
        counts.append((name, int(n)))
    return counts


@click.command("demo")
@click.option(
    "--from", "first_day", type=click.DateTime(["%Y-%m-%d"]), default="2026-01-01", show_default=True
)
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366))
@click.option("--app-events-per-day", default=20_000, show_default=True, type=click.IntRange(0))
def demo_command(first_day: datetime, days: int, app_events_per_day: int) -> None:
    """Run the platform end to end locally and show what it produced."""
    console = Console()
    settings = get_settings()
    console.rule(f"Rillflow demo: {days} days from {first_day:%Y-%m-%d}, state in {settings.home}")
    report, counts = replay(settings, first_day.date(), days, app_events_per_day, console)
    print_report(report, console)
    reconciled = print_reconciliation(counts, console)
    table = Table(title=f"Warehouse ({settings.warehouse_path})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in warehouse_summary(settings):
        table.add_row(name, f"{n:,}")
    console.print(table)
    console.print("[bold]ML[/]")
    for line in ml_summary():
        console.print("  " + line)
    from dashboards.build import build

    pages = build()
    console.print(f"[bold]Dashboards[/] (open in a browser): {pages[0]}")
    console.print(
        'Inspect: [cyan]rillflow sql "SELECT * FROM marts.fct_sales LIMIT 5"[/], '
        "[cyan]rillflow workflows list[/], [cyan]rillflow dashboards serve[/]; keep the stack up "
        "with [cyan]rillflow local up[/] first."
    )
    if not reconciled:
        raise SystemExit(1)
