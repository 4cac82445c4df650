"""``rillflow generate``: write N days of the four flows in their bronze/lake formats."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import pyarrow.parquet as pq
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from rillflow.commands.options import DAY, app_events_per_day_option
from rillflow.generators.app_events import AppEventModel
from rillflow.generators.clickstream import clickstream_for_day
from rillflow.generators.sales import SalesModel
from rillflow.generators.startups import StartupUniverse

#: the daily ingestion time: startup loads are taken as of this time of their day
LOAD_TIME = timedelta(hours=1)
FRIDAY = 4


def _write_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")
            n += 1
    return n


def generate_days(
    out: Path, first: date, days: int, app_events_per_day: float, seed: int, progress: Progress | None = None
) -> dict[str, int]:
    """Write every flow for ``days`` days from ``first``; returns record counts per flow.

    ``app_events_per_day=0`` writes no app events (as ``rillflow run`` then publishes none)."""
    sales = SalesModel(seed=seed, start=first)
    universe = StartupUniverse(seed=seed, start=first)
    app = AppEventModel(events_per_day=app_events_per_day, seed=seed) if app_events_per_day > 0 else None
    counts = {"clickstream": 0, "sales_lines": 0, "startups_full": 0, "startups_delta": 0, "app_events": 0}
    task = progress.add_task("generating", total=days) if progress else None
    last_load: datetime | None = None
    for k in range(days):
        d = first + timedelta(days=k)
        dt = f"dt={d.isoformat()}"
        bronze = out / "bronze"
        counts["clickstream"] += _write_jsonl(
            bronze / "clickstream" / dt / "part-00000.jsonl", clickstream_for_day(d, seed, sales)
        )
        lines = sales.lines_for_day(d)
        (bronze / "sales" / dt).mkdir(parents=True, exist_ok=True)
        pq.write_table(lines, bronze / "sales" / dt / "part-00000.parquet")
        counts["sales_lines"] += lines.num_rows
        load_at = datetime(d.year, d.month, d.day, tzinfo=UTC) + LOAD_TIME
        if last_load is None:
            path = bronze / "startups" / "load_type=full" / dt / "part-00000.jsonl"
            counts["startups_full"] += _write_jsonl(path, universe.snapshot(load_at))
            last_load = load_at
        elif d.weekday() == FRIDAY:
            path = bronze / "startups" / "load_type=delta" / dt / "part-00000.jsonl"
            counts["startups_delta"] += _write_jsonl(path, universe.changes(last_load, load_at))
            last_load = load_at
        if app is not None:
            counts["app_events"] += _write_app_events(out / "lake" / "app_events" / dt, app, d)
        if progress is not None and task is not None:
            progress.advance(task)
    return counts


def _write_app_events(target: Path, app: AppEventModel, day: date) -> int:
    """One Parquet file per hour of ``day``; returns the number of events."""
    target.mkdir(parents=True, exist_ok=True)
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    n = 0
    for hour in range(24):
        h0 = day_start + timedelta(hours=hour)
        table = app.generate(h0, h0 + timedelta(hours=1))
        pq.write_table(table, target / f"part-{h0:%Y%m%dT%H%M}-000-generated.parquet")
        n += table.num_rows
    return n


@click.command("generate")
@click.option("--date", "first", type=DAY, required=True, help="first day (UTC)")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="output root")
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True)
@app_events_per_day_option()
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
def generate(first: date, out: Path, days: int, app_events_per_day: int, seed: int) -> None:
    """Write DAYS days of clickstream, sales, startups and app events under OUT."""
    console = Console()
    with Progress(console=console, transient=True) as progress:
        counts = generate_days(out, first, days, app_events_per_day, seed, progress)
    table = Table(title=f"generated {days} day(s) from {first} into {out}")
    table.add_column("flow")
    table.add_column("records", justify="right")
    for flow, n in counts.items():
        table.add_row(flow, f"{n:,}")
    console.print(table)
