"""``rillflow demo``: the platform end to end on this machine, on embedded defaults.

Starts the local Google Cloud (or uses the one ``rillflow local up`` started), replays a week
on the virtual clock — the batch flows, the app-event stream, the daily workflow with Dataform
and the ML pipelines — reconciles every flow, and prints what the warehouse now holds.
"""

from __future__ import annotations

import json
from datetime import date

import click
from rich.console import Console
from rich.table import Table

from rillflow.commands.options import DAY, app_events_per_day_option
from rillflow.commands.run import (
    ReplayInterrupted,
    print_interrupted,
    print_reconciliation,
    print_report,
    replay,
)
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


#: where Dataform keeps each assertion's failing rows (dataform/workflow_settings.yaml)
ASSERTIONS_DATASET = "dataform_assertions"


def warehouse_summary(settings: Settings) -> list[tuple[str, int]]:
    """Row counts of every table and view in the local warehouse, by dataset; the assertion
    tables as one line (how many there are and how many failed), not ~30 rows of zeros."""
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
    assertions = failing = 0
    for name in names:
        schema, table = name.split(".", 1)
        n = int(wh.query(f'SELECT count(*) AS n FROM "{schema}"."{table}"').column("n")[0].as_py())
        if schema == ASSERTIONS_DATASET:  # one line for all: a passing assertion keeps no rows
            assertions, failing = assertions + 1, failing + (n > 0)
            continue
        counts.append((name, n))
    if assertions:
        counts.append((f"{ASSERTIONS_DATASET} ({assertions} assertions, {failing} failing)", failing))
    return counts


@click.command("demo")
@click.option("--from", "first_day", type=DAY, default="2026-01-01", show_default=True)
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366))
@app_events_per_day_option()
@click.option("--force", is_flag=True, help="Replay the days again even if they already ran.")
def demo_command(first_day: date, days: int, app_events_per_day: int, force: bool) -> None:
    """Run the platform end to end locally and show what it produced."""
    console = Console()
    settings = get_settings()
    console.rule(f"Rillflow demo: {days} days from {first_day:%Y-%m-%d}, state in {settings.home}")
    try:
        outcome = replay(settings, first_day, days, app_events_per_day, console, force)
    except ReplayInterrupted as exc:
        print_interrupted(exc, "make demo", console)
        raise SystemExit(130) from None
    reconciled = True
    if outcome.report is not None:
        print_report(outcome.report, console)
        reconciled = print_reconciliation(outcome.counts, console)
    else:
        console.print(
            f"These {days} days already ran in {settings.home}: showing what they produced "
            "(`make clean` starts over; `rillflow demo --force` replays them again)."
        )
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
