"""``rillflow backfill --from D --days N``: fill N days of history in bulk, through the daily path's code.

Where ``rillflow run`` lives every simulated minute, a backfill does each day's work in bulk
(``harness/backfill.py`` says what maps onto what) and builds the warehouse and the models once
at the end, leaving the state a replay of the same days leaves. Days that already ran are
skipped or done again as ``run`` does; an interrupted backfill resumes where it stopped.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import date

import click
from rich.console import Console
from rich.table import Table

from harness.day_runs import LOADED, DayPlan
from harness.reconcile import FlowCount, reconcile
from rillflow.commands.errors import ExplainedError
from rillflow.commands.options import DAY, app_events_per_day_option
from rillflow.commands.run import StackHandle, plan_on_stack, print_reconciliation, stack_for, step_progress
from rillflow.settings import Settings, get_settings


@dataclass
class BackfillOutcome:
    """The plan for days that already ran, then the report and counts (None when every day had run)."""

    plan: DayPlan
    report: object | None = None  # harness.backfill.BackfillReport (imported lazily)
    counts: list[FlowCount] = field(default_factory=list)
    loaded: list[date] = field(default_factory=list)


class BackfillInterrupted(Exception):
    """Ctrl-C during a backfill: which days had been loaded, so the command can say what a rerun does."""

    def __init__(self, where: str, days_loaded: list[date]) -> None:
        super().__init__(where)
        self.where = where
        self.days_loaded = days_loaded


def backfill(
    settings: Settings,
    first_day: date,
    days: int,
    app_events_per_day: int,
    console: Console,
    force: bool = False,
    handle: StackHandle | None = None,
) -> BackfillOutcome:
    """Backfill the days on the running stack (or one started for the call), then reconcile."""
    from harness.backfill import PAUSED_TRIGGERS, Backfill

    with stack_for(settings, handle) as stack:
        _runs, plan = plan_on_stack(settings, stack, first_day, days, force, console)
        loaded = [] if force else sorted(d for d, r in plan.rerun.items() if r.state == LOADED)
        if loaded:
            console.print(
                f"{len(loaded)} day(s) were loaded by an interrupted backfill: only the warehouse "
                "and models are built again for them"
            )
        if not plan.days:
            return BackfillOutcome(plan)
        stack.pause_triggers(list(PAUSED_TRIGGERS))
        try:
            with step_progress(console, "backfilling") as progress:
                runner = Backfill(settings, stack.set_clock, app_events_per_day, progress)
                try:
                    report = runner.run(plan, set(loaded))
                except KeyboardInterrupt:
                    raise BackfillInterrupted(progress.where, sorted(runner.report.days_built)) from None
        finally:
            stack.resume_triggers(list(PAUSED_TRIGGERS))
        stack.wait_idle(600)
        counts = reconcile(settings, plan.first_day, plan.days, report.totals)
        return BackfillOutcome(plan, report, counts, loaded)


def print_backfill_report(report: object, console: Console) -> None:
    """What each step did (totals over the days) and how long it took."""
    from harness.backfill import BackfillReport

    assert isinstance(report, BackfillReport)
    table = Table(title="What the backfill ran (the daily path's code, in bulk)")
    table.add_column("step")
    table.add_column("calls", justify="right")
    table.add_column("totals")
    for function, calls in report.calls.items():
        totals = ", ".join(f"{k}={v:,.0f}" for k, v in sorted(report.totals.get(function, {}).items()))
        table.add_row(function, str(calls), totals)
    console.print(table)
    timing = Table(title="Where the time went")
    timing.add_column("step")
    timing.add_column("seconds", justify="right")
    for step, seconds in report.seconds.items():
        timing.add_row(step, f"{seconds:,.1f}")
    console.print(timing)
    if report.ml:
        outputs = report.ml.get("outputs") or {}
        for model, outcome in sorted(outputs.items()):
            if isinstance(outcome, dict) and outcome.get("skipped"):
                console.print(f"  ML {model}: skipped — {outcome.get('reason')}")
            else:
                console.print(f"  ML {model}: done")


@click.command("backfill")
@click.option("--from", "first_day", type=DAY, default="2026-01-01", show_default=True)
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 3660))
@app_events_per_day_option()
@click.option(
    "--force",
    is_flag=True,
    help="Do days that already ran again too (by default completed days at the start are skipped).",
)
def backfill_command(first_day: date, days: int, app_events_per_day: int, force: bool) -> None:
    """Fill DAYS days of history starting at FROM, in bulk, through the daily path's code.

    Each day's sales, clickstream, startups loads, manifests, claims, compaction and export run
    as the functions run them; the app events go through the streaming pipeline's transforms;
    Dataform (a full refresh) and the ML pipeline (training) run once at the end. The state is
    what `rillflow run` over the same days leaves. Days that already ran are skipped at the start
    of the window and done again elsewhere (--force: all); running it again after Ctrl-C resumes."""
    from harness.backfill import BackfillError

    console = Console()
    settings = get_settings()
    try:
        outcome = backfill(settings, first_day, days, app_events_per_day, console, force)
    except BackfillError as exc:
        raise ExplainedError(f"{exc}; running the same command again resumes") from exc
    except BackfillInterrupted as exc:
        console.print(f"[yellow]Interrupted[/] at {exc.where}.")
        if exc.days_loaded:
            console.print(
                f"Loaded: {exc.days_loaded[0]} … {exc.days_loaded[-1]} ({len(exc.days_loaded)} day(s)); "
                "the warehouse and models are built at the end."
            )
        console.print(
            f"Running [cyan]{' '.join(['rillflow', *sys.argv[1:]])}[/] again is safe: loaded days are "
            "not loaded again, the rest are, and nothing is duplicated."
        )
        raise SystemExit(130) from None
    if outcome.report is None:
        console.print(
            f"All {days} day(s) from {first_day} already ran; nothing to do (--force does them again)."
        )
        return
    print_backfill_report(outcome.report, console)
    if not print_reconciliation(outcome.counts, console):
        raise SystemExit(1)
