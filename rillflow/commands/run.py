"""``rillflow run --from D --days N``: replay days on the local Google Cloud, as fast as it goes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

import click
import requests
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from localgcp.reconcile import FlowCount, reconcile
from localgcp.replay import Replay, ReplayReport
from localgcp.scheduler import SchedulerClient
from localgcp.stack import LocalStack, read_state
from localgcp.triggers import load_declaration
from rillflow.settings import Settings, get_settings


@dataclass
class StackHandle:
    """What the replay needs from a stack, running here or in the background."""

    function_url: Callable[[str], str]
    wait_idle: Callable[[float], bool]
    set_clock: Callable[[datetime], None]
    drain_stream: Callable[[], object]
    env: dict[str, str]


@contextmanager
def attach_or_start(settings: Settings) -> Iterator[StackHandle]:
    """Use the stack `rillflow local up` started, or start one in-process and stop it after."""
    state = read_state(settings.home)
    if state:
        try:
            requests.get(f"{state['control']}/healthz", timeout=2).raise_for_status()
        except requests.RequestException:
            state = None
    if state:
        control = state["control"]
        functions = state["functions"]

        def remote_idle(timeout: float) -> bool:
            resp = requests.post(f"{control}/wait-idle", params={"timeout": timeout}, timeout=timeout + 30)
            return bool(resp.json()["idle"])

        def remote_clock(now: datetime) -> None:
            requests.post(f"{control}/clock", json={"now": now.isoformat()}, timeout=30).raise_for_status()

        def remote_drain() -> object:
            resp = requests.post(f"{control}/drain-stream", timeout=3700)
            resp.raise_for_status()
            return resp.json()

        yield StackHandle(functions.__getitem__, remote_idle, remote_clock, remote_drain, state["env"])
        return
    stack = LocalStack(settings)
    try:
        stack.start()
        yield StackHandle(
            stack.function_url, stack.wait_idle, stack.set_clock, stack.drain_stream, stack.env()
        )
    finally:
        stack.stop()


def replay(
    settings: Settings, first_day: date, days: int, app_events_per_day: int, console: Console
) -> tuple[ReplayReport, list[FlowCount]]:
    """Replay the days, then reconcile the batch flows while the stack is still up."""
    with (
        attach_or_start(settings) as handle,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        os.environ.update(handle.env)
        task = progress.add_task("replaying", total=None)

        def on_progress(label: str, done: int, total: int) -> None:
            progress.update(task, description=label, completed=done, total=total)

        runner = Replay(
            load_declaration({"lake_bucket": settings.lake_bucket}),
            SchedulerClient(handle.function_url, settings.project, settings.region),
            handle.wait_idle,
            handle.set_clock,
            app_events_per_day=app_events_per_day,
            drain_stream=handle.drain_stream,
            on_progress=on_progress,
        )
        report = runner.run(first_day, days)
        return report, reconcile(settings, first_day, days, report.totals)


def print_report(report: ReplayReport, console: Console) -> None:
    table = Table(title="What the scheduled functions produced")
    table.add_column("function")
    table.add_column("calls", justify="right")
    table.add_column("totals")
    for function, calls in report.calls.items():
        totals = ", ".join(f"{k}={v:,.0f}" for k, v in sorted(report.totals.get(function, {}).items()))
        table.add_row(function, str(calls), totals)
    console.print(table)


def print_reconciliation(counts: list[FlowCount], console: Console) -> bool:
    """One line per flow; True when every flow adds up."""
    console.print("[bold]Reconciliation[/] (generated = landed + quarantined)")
    for count in counts:
        console.print("  " + count.line(), style="green" if count.ok else "red")
    return all(c.ok for c in counts)


@click.command("run")
@click.option(
    "--from", "first_day", type=click.DateTime(["%Y-%m-%d"]), default="2026-01-01", show_default=True
)
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 3660))
@click.option(
    "--app-events-per-day", default=0, show_default=True, type=click.IntRange(0), help="0 = no stream"
)
def run_command(first_day: datetime, days: int, app_events_per_day: int) -> None:
    """Replay DAYS simulated days starting at FROM on the virtual clock."""
    console = Console()
    settings = get_settings()
    report, counts = replay(settings, first_day.date(), days, app_events_per_day, console)
    print_report(report, console)
    if not print_reconciliation(counts, console):
        raise SystemExit(1)
