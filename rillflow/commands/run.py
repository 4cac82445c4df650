"""``rillflow run --from D --days N``: replay days on the local Google Cloud, as fast as it goes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import click
import requests
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness.day_runs import DayPlan, DayRuns, day_runs_for, plan_days
from harness.reconcile import FlowCount, reconcile
from harness.replay import Replay, ReplayReport
from harness.stack import LocalStack, client_env, read_state
from harness.triggers import load_declaration
from localgcp.services.scheduler.service import SchedulerClient
from rillflow.commands.options import DAY, app_events_per_day_option
from rillflow.settings import Settings, get_settings


@dataclass
class StackHandle:
    """What the replay needs from a stack, running here or in the background."""

    function_url: Callable[[str], str]
    wait_idle: Callable[[float], bool]
    set_clock: Callable[[datetime], None]
    drain_stream: Callable[[], object]
    env: dict[str, str]
    #: pause / resume event triggers by name (a backfill does their work itself)
    pause_triggers: Callable[[list[str]], object] = lambda names: None
    resume_triggers: Callable[[list[str]], object] = lambda names: None


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

        def remote_triggers(action: str) -> Callable[[list[str]], object]:
            def call(names: list[str]) -> object:
                resp = requests.post(f"{control}/triggers", json={action: names}, timeout=30)
                resp.raise_for_status()
                return resp.json()

            return call

        yield StackHandle(
            functions.__getitem__,
            remote_idle,
            remote_clock,
            remote_drain,
            client_env(settings, state),
            remote_triggers("pause"),
            remote_triggers("resume"),
        )
        return
    stack = LocalStack(settings)
    try:
        stack.start()
        yield StackHandle(
            stack.function_url,
            stack.wait_idle,
            stack.set_clock,
            stack.drain_stream,
            stack.env(),
            stack.pause_triggers,
            stack.resume_triggers,
        )
    finally:
        stack.stop()


@contextmanager
def stack_for(settings: Settings, handle: StackHandle | None) -> Iterator[StackHandle]:
    """``handle`` when the caller holds a stack; else :func:`attach_or_start`."""
    if handle is not None:
        yield handle
        return
    with attach_or_start(settings) as started:
        yield started


class StepProgress:
    """A progress bar's ``on_progress(label, done, total)``, remembering the last label (``where``
    an interrupted run stopped)."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self.progress, self.task, self.where = progress, task, "starting"

    def __call__(self, label: str, done: int, total: int) -> None:
        self.where = label
        self.progress.update(self.task, description=label, completed=done, total=total)


@contextmanager
def step_progress(console: Console, description: str) -> Iterator[StepProgress]:
    """One bar for a replay or a backfill: step label, bar, steps done of all, time elapsed."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        yield StepProgress(progress, progress.add_task(description, total=None))


@dataclass
class ReplayOutcome:
    """What ``replay`` did: the plan for days that already ran, then the report and counts (None
    when every requested day had already run)."""

    plan: DayPlan
    report: ReplayReport | None = None
    counts: list[FlowCount] = field(default_factory=list)


class ReplayInterrupted(Exception):
    """Ctrl-C during a replay: which days had completed, so the command can say what a rerun does."""

    def __init__(self, where: str, days_done: list[date]) -> None:
        super().__init__(where)
        self.where = where
        self.days_done = days_done


def plan_on_stack(
    settings: Settings, handle: StackHandle, first_day: date, days: int, force: bool, console: Console
) -> tuple[DayRuns, DayPlan]:
    """Point this process at the stack, let what an earlier run left in flight settle, then find
    which of the days already ran and plan them (``harness.day_runs``), saying so."""
    os.environ.update(handle.env)
    handle.wait_idle(600)
    runs = day_runs_for(settings.project, settings.region, handle.env.get("RILLFLOW_WORKFLOWS_HOST", ""))
    window = [first_day + timedelta(days=i) for i in range(days)]
    plan = plan_days(first_day, days, runs.find(window), force)
    for line in plan.describe():
        console.print(line)
    return runs, plan


def replay(
    settings: Settings,
    first_day: date,
    days: int,
    app_events_per_day: int,
    console: Console,
    force: bool = False,
    handle: StackHandle | None = None,
) -> ReplayOutcome:
    """Replay the days, then reconcile the batch flows while the stack is still up.

    Days that already ran are found first (``harness.day_runs``): the completed ones at the
    head of the window are skipped unless ``force``; any other day that ran is replayed and its
    pipeline started again, so that a replay of days that already ran ends as one run would.
    ``handle``: a stack the caller holds (else the running one, or one started for the call)."""
    with stack_for(settings, handle) as handle:
        runs, plan = plan_on_stack(settings, handle, first_day, days, force, console)
        if not plan.days:
            return ReplayOutcome(plan)

        def after_day(day: date) -> None:
            if day in plan.rerun:
                runs.rerun(plan.rerun[day])

        with step_progress(console, "replaying") as progress:
            runner = Replay(
                load_declaration({"lake_bucket": settings.lake_bucket}),
                SchedulerClient(handle.function_url, settings.project, settings.region),
                handle.wait_idle,
                handle.set_clock,
                app_events_per_day=app_events_per_day,
                drain_stream=handle.drain_stream,
                on_progress=progress,
                after_day=after_day,
            )
            try:
                report = runner.run(plan.first_day, plan.days)
            except KeyboardInterrupt:
                raise ReplayInterrupted(progress.where, list(runner.days_done)) from None
        return ReplayOutcome(plan, report, reconcile(settings, plan.first_day, plan.days, report.totals))


def print_interrupted(exc: ReplayInterrupted, command: str, console: Console) -> None:
    """Say what an interrupted replay completed and that running it again is safe."""
    done = exc.days_done
    console.print(f"[yellow]Interrupted[/] at {exc.where}.")
    if done:
        console.print(
            f"Complete: {done[0]} … {done[-1]} ({len(done)} day(s): their nightly jobs and daily pipeline finished)."
        )
    else:
        console.print("No day had completed yet.")
    console.print(
        f"Running [cyan]{command}[/] again is safe: completed days are skipped, the rest are replayed "
        "from their start, and nothing is duplicated (publishing, writing and loading are idempotent)."
    )


def print_report(report: ReplayReport, console: Console) -> None:
    table = Table(title="What the scheduled functions produced")
    table.add_column("function")
    table.add_column("calls", justify="right")
    table.add_column("totals")
    for function, calls in report.calls.items():
        totals = ", ".join(f"{k}={v:,.0f}" for k, v in sorted(report.totals.get(function, {}).items()))
        table.add_row(function, str(calls), totals)
    console.print(table)
    if report.seconds:
        spent = "; ".join(f"{phase} {seconds:,.1f} s" for phase, seconds in report.seconds.items())
        console.print(f"Where the time went: {spent}")


def print_reconciliation(counts: list[FlowCount], console: Console) -> bool:
    """One line per flow; True when every flow adds up."""
    console.print("[bold]Reconciliation[/] (generated = landed + quarantined)")
    for count in counts:
        console.print("  " + count.line(), style="green" if count.ok else "red")
    return all(c.ok for c in counts)


@click.command("run")
@click.option("--from", "first_day", type=DAY, default="2026-01-01", show_default=True)
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 3660))
@app_events_per_day_option()
@click.option(
    "--force",
    is_flag=True,
    help="Replay days that already ran too (by default completed days at the start are skipped).",
)
def run_command(first_day: date, days: int, app_events_per_day: int, force: bool) -> None:
    """Replay DAYS simulated days starting at FROM on the virtual clock.

    Days that already ran are skipped when they complete the start of the window; any other
    day that ran (or every one, with --force) is replayed again and its pipeline re-run, ending
    as after one run."""
    console = Console()
    settings = get_settings()
    try:
        outcome = replay(settings, first_day, days, app_events_per_day, console, force)
    except ReplayInterrupted as exc:
        print_interrupted(exc, " ".join(["rillflow", *sys.argv[1:]]), console)
        raise SystemExit(130) from None
    if outcome.report is None:
        console.print(
            f"All {days} day(s) from {first_day} already ran; nothing replayed (--force replays them)."
        )
        return
    print_report(outcome.report, console)
    if not print_reconciliation(outcome.counts, console):
        raise SystemExit(1)
