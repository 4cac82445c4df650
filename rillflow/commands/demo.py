"""``rillflow demo``: the whole platform on this machine, on embedded defaults, in minutes.

Starts the local Google Cloud (or uses the one ``rillflow local up`` started), backfills enough
history for both models in bulk (``rillflow backfill``: the daily path's code, Dataform once, the
models trained once), then replays the last days event-driven on the virtual clock (Cloud
Scheduler, the functions, Pub/Sub and the streaming job, the daily workflow with Dataform and the
ML pipelines scoring and forecasting) with the dashboard app running beside it (its Live page
moves while the stream flows), checks every dashboard panel, reconciles
every flow, and says what each step did, how long it took and where to look. The figures go to
``<RILLFLOW_HOME>/demo.json`` (``demo.seconds`` and its breakdown).
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from harness.reconcile import FlowCount
from rillflow.commands.options import DAY, app_events_per_day_option
from rillflow.settings import Settings, get_settings
from rillflow.warehouse import DuckDBWarehouse

#: the last days replayed event-driven (scheduler, functions, Pub/Sub, Beam, the daily workflow)
DEFAULT_REPLAY_DAYS = 2
FRIDAY = 4


def default_days(first_day: date, replay_days: int) -> int:
    """Days of history in all: enough backfilled days for both models' first training (the churn
    model's is the later: day 69 from Thursday 1 January, ``rillflow.commands.history``), rounded up
    as ``rillflow run``'s hints round, then moved on until no replayed day is a Friday (a Friday's
    pipeline retrains both models: minutes the demo spends showing the daily path instead)."""
    from rillflow.commands.history import milestones, with_margin

    backfill = with_margin(max(m.days for m in milestones(first_day)))
    while any((first_day + timedelta(days=backfill + i)).weekday() == FRIDAY for i in range(replay_days)):
        backfill += 1
    return backfill + replay_days


DEMO_FILE = "demo.json"
#: RILLFLOW_WORKFLOWS_TIME_SCALE of the stack the demo starts (the tests' stacks use 0.02)
TIME_SCALE_ENV = "RILLFLOW_WORKFLOWS_TIME_SCALE"
DEMO_TIME_SCALE = "0.05"


#: the daily ML pipeline's name (its ``pipelineInfo.name``), which the demo reports on
DAILY_ML = "daily-ml"


def _latest_ml_job(env: dict[str, str], settings: Settings) -> dict[str, Any] | None:
    """The latest ``daily-ml`` PipelineJob (the backfill's or a replayed day's), from the stack's
    Vertex AI (``PipelineJob.list``), as ``ml.pipelines.jobs.record`` describes it."""
    from ml.pipelines.jobs import latest

    for name, value in env.items():
        os.environ.setdefault(name, value)
    return latest(DAILY_ML, settings)


def ml_summary(last: dict[str, Any] | None) -> list[str]:
    """What a daily ML pipeline run (``ml.pipelines.jobs.record``, e.g. :func:`_latest_ml_job`'s)
    did, model by model (trained, scored, or why it skipped)."""
    if last is None:
        return ["no ML pipeline has run yet"]
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


@dataclass
class Step:
    """One line of the demo's summary: what ran, what it did, how long it took."""

    name: str
    did: str
    seconds: float


def merge_counts(*groups: list[FlowCount]) -> list[FlowCount]:
    """One reconciliation line per flow over several runs (each reconciled over its own days)."""
    merged: dict[str, FlowCount] = {}
    for counts in groups:
        for c in counts:
            old = merged.get(c.flow)
            merged[c.flow] = (
                c
                if old is None
                else FlowCount(
                    c.flow,
                    old.generated + c.generated,
                    old.landed + c.landed,
                    old.quarantined + c.quarantined,
                )
            )
    return list(merged.values())


def _totals(report: Any, function: str, key: str) -> int:
    return int((getattr(report, "totals", {}) or {}).get(function, {}).get(key, 0))


def _short(reason: str, limit: int = 100) -> str:
    """A skip reason's first clause (the pipeline nests the details in parentheses)."""
    head = reason.split(" (", 1)[0]
    return head if len(head) <= limit else head[: limit - 1] + "…"


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _ml_did(outputs: dict[str, Any]) -> str:
    """A daily ML pipeline's outputs in a few words per model: what it trained and produced, or why not."""
    parts = []
    for model, outcome in sorted(outputs.items()):
        if not isinstance(outcome, dict):
            parts.append(f"{model}: done")
        elif outcome.get("skipped"):
            parts.append(f"{model}: skipped ({_short(str(outcome.get('reason')))})")
        else:
            trained = any(
                isinstance(step, dict) and (step.get("promote") or step.get("champion_is_model") is not None)
                for step in (outcome.get("gate"), (outcome.get("train") or {}).get("metrics"))
            )
            what = "forecasts (hour × series)" if model == "forecast" else "customers scored"
            version = f"v{outcome.get('model_version', '?')}" + (" trained" if trained else "")
            parts.append(f"{model}: {version}, {int(outcome.get('rows') or 0):,} {what}")
    return "; ".join(parts) or "no outputs"


def _pipeline_runs(
    env: dict[str, str], settings: Settings, days: set[str]
) -> list[tuple[str, str, str, str]]:
    """The replayed days' ``daily_pipeline`` executions: (date, state, duration, step timings)."""
    from google.cloud.workflows.executions_v1.types import ExecutionView, ListExecutionsRequest

    from rillflow.commands.workflows import duration, run_date, steps
    from rillflow.workflows_client import executions_client

    client = executions_client(env.get("RILLFLOW_WORKFLOWS_HOST") or settings.emulator_host("workflows"))
    parent = f"projects/{settings.project}/locations/{settings.region}/workflows/daily_pipeline"
    request = ListExecutionsRequest(parent=parent, view=ExecutionView.FULL, page_size=100)
    now = datetime.now(UTC)
    found = [e for e in client.list_executions(request=request) if run_date(e) in days]
    return sorted((run_date(e), e.state.name, duration(e, now), steps(e)) for e in found)


def panel_states(settings: Settings) -> dict[str, dict[str, Any]]:
    """Each dashboard panel as the app shows it now: its page, its rows and, when empty, why."""
    from dashboards.filters import Filters
    from dashboards.pages import PAGES, render
    from dashboards.serve import LocalWarehouse
    from rillflow.commands.dashboards import local_hints

    warehouse = LocalWarehouse(DuckDBWarehouse(settings.warehouse_path), settings.warehouse_path)
    states: dict[str, dict[str, Any]] = {}
    for page in PAGES.values():
        _kpis, shown = render(page, warehouse, Filters(), local_hints())
        for s in shown:
            states[s.panel.id] = {
                "page": page.key,
                "view": s.panel.view,
                "rows": 0 if s.frame is None else len(s.frame),
                "problem": s.problem,
            }
    return states


def start_dashboards(settings: Settings) -> tuple[subprocess.Popen[bytes] | None, str]:
    """``rillflow dashboards serve`` as a child process (its own DuckDB reader: a thread here would
    share this process's DuckDB instance with the writers), logging to ``logs/dashboards.log``."""
    url = f"http://127.0.0.1:{settings.ports.dashboard}/"
    log = settings.home / "logs" / "dashboards.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-c", "from rillflow.cli import main; main()", "dashboards", "serve"]
    with log.open("ab") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    time.sleep(0.5)
    if child.poll() is not None:  # e.g. the port is taken by a `rillflow dashboards serve` already running
        return None, f"{url} did not start here (see {log})"
    return child, url


def stop_dashboards(child: subprocess.Popen[bytes] | None) -> None:
    if child is not None and child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


#: the backfill's per-day steps (``harness.backfill.BackfillReport.seconds``) run in this process
BATCH_STEPS = (
    "generate_sales",
    "on_sale_written (bulk ledger)",
    "generate_clickstream",
    "ingest_startups",
    "compact_app_events",
    "export_sales",
)


def backfill_steps(report: Any, first_day: date, days: int, seconds: float) -> list[Step]:
    """The summary lines of a backfill: the whole, then its parts (the batch flows and the app events
    run side by side, so the parts add up to more than the whole)."""
    last = first_day + timedelta(days=days - 1)
    return [
        Step(f"backfill ({_days(days)})", f"{first_day} … {last} in bulk", seconds),
        Step(
            "  batch flows",
            f"{_totals(report, 'generate_sales', 'orders'):,} orders and their ledger, "
            f"{_totals(report, 'generate_clickstream', 'rows'):,} clicks, "
            f"{_totals(report, 'ingest_startups', 'rows'):,} startup records; manifests, claims, "
            "compaction, sales exports",
            sum(report.seconds.get(k, 0.0) for k in BATCH_STEPS),
        ),
        Step(
            "  app events (Beam, beside them)",
            f"{_totals(report, 'publish_app_events', 'events'):,} events through the streaming "
            "pipeline's transforms into the lake and the hourly table",
            report.seconds.get("app_events (Beam, beside the batch flows)", 0.0),
        ),
        Step(
            "  Dataform full refresh",
            f"{report.dataform.get('actions', 0)} actions: bronze → marts, ML features, bi views",
            report.seconds.get("dataform (full refresh)", 0.0),
        ),
        Step(
            "  ML training (daily_ml)",
            _ml_did(report.ml.get("outputs") or {}),
            report.seconds.get("ml (daily_ml, training)", 0.0),
        ),
    ]


@click.command("demo")
@click.option("--from", "first_day", type=DAY, default="2026-01-01", show_default=True)
@click.option(
    "--days",
    default=None,
    type=click.IntRange(1, 3660),
    help="days of history in all: backfilled, then the last --replay-days replayed "
    "[default: enough for both models' first training, 74 from 2026-01-01]",
)
@click.option(
    "--replay-days",
    default=DEFAULT_REPLAY_DAYS,
    show_default=True,
    type=click.IntRange(0, 366),
    help="the last days replayed event-driven (scheduler, functions, Pub/Sub, Beam, the workflow)",
)
@app_events_per_day_option()
@click.option("--force", is_flag=True, help="Run the days again even if they already ran.")
def demo_command(
    first_day: date, days: int | None, replay_days: int, app_events_per_day: int, force: bool
) -> None:
    """Run the platform end to end locally: backfill history, replay the last days, show what it made."""
    from rillflow.commands.backfill import BackfillInterrupted, backfill
    from rillflow.commands.run import (
        ReplayInterrupted,
        attach_or_start,
        print_interrupted,
        print_reconciliation,
        print_report,
        replay,
    )

    started = time.perf_counter()
    # The stack the demo starts polls its connectors (Dataform, Vertex) at a twentieth of the YAML's
    # Cloud delays: they are waits, not work (a stack `rillflow local up` started keeps its own).
    os.environ.setdefault(TIME_SCALE_ENV, DEMO_TIME_SCALE)
    get_settings.cache_clear()  # the stack's settings (workflows_time_scale) read it
    console = Console()
    settings = get_settings()
    days = days or default_days(first_day, replay_days)
    replay_days = min(replay_days, days)
    backfill_days = days - replay_days
    last_day = first_day + timedelta(days=days - 1)
    console.rule(
        f"Rillflow demo: {days} days from {first_day:%Y-%m-%d} ({backfill_days} backfilled, {replay_days} "
        f"replayed event-driven), {app_events_per_day:,} app events a day, state in {settings.home}"
    )
    steps: list[Step] = []
    failed_runs: list[str] = []
    breakdown: dict[str, Any] = {}
    counts: list[list[FlowCount]] = []
    dashboards, dashboards_url = start_dashboards(settings)
    atexit.register(stop_dashboards, dashboards)  # also when the demo is interrupted
    if dashboards is not None:
        console.print(
            f"[bold]Dashboards[/]: {dashboards_url} (History, Predictions); {dashboards_url}live moves "
            "while the replayed days stream"
        )
    else:
        console.print(f"[yellow]Dashboards[/]: {dashboards_url}")
    t0 = time.perf_counter()
    with attach_or_start(settings) as handle:
        steps.append(
            Step(
                "local Google Cloud",
                "emulators, router, Workflows, functions, streaming job",
                time.perf_counter() - t0,
            )
        )
        breakdown["stack_start_s"] = steps[-1].seconds
        if backfill_days:
            console.rule(f"1. backfill {first_day} … {first_day + timedelta(days=backfill_days - 1)} in bulk")
            t0 = time.perf_counter()
            try:
                filled = backfill(
                    settings, first_day, backfill_days, app_events_per_day, console, force, handle
                )
            except BackfillInterrupted as exc:
                console.print(f"[yellow]Interrupted[/] at {exc.where}; `make demo` again resumes.")
                raise SystemExit(130) from None
            seconds = time.perf_counter() - t0
            breakdown["backfill_s"] = seconds
            if filled.report is not None:
                report: Any = filled.report
                breakdown["backfill_steps_s"] = {k: round(v, 1) for k, v in report.seconds.items()}
                steps += backfill_steps(report, filled.plan.first_day, filled.plan.days, seconds)
                counts.append(filled.counts)
            else:
                steps.append(
                    Step("backfill", f"{backfill_days} days had already run: nothing to do", seconds)
                )
        if replay_days:
            replay_first = first_day + timedelta(days=backfill_days)
            console.rule(f"2. replay {replay_first} … {last_day} event-driven on the virtual clock")
            t0 = time.perf_counter()
            try:
                outcome = replay(
                    settings, replay_first, replay_days, app_events_per_day, console, force, handle
                )
            except ReplayInterrupted as exc:
                print_interrupted(exc, "make demo", console)
                raise SystemExit(130) from None
            seconds = time.perf_counter() - t0
            breakdown["replay_s"] = seconds
            if outcome.report is not None:
                print_report(outcome.report, console)
                counts.append(outcome.counts)
                days_run = {
                    (outcome.plan.first_day + timedelta(days=i)).isoformat() for i in range(outcome.plan.days)
                }
                runs = _pipeline_runs(handle.env, settings, days_run)
                calls = sum(outcome.report.calls.values())
                steps.append(
                    Step(
                        f"replay ({_days(outcome.plan.days)})",
                        f"{calls:,} Cloud Scheduler firings → functions → events; "
                        f"{_totals(outcome.report, 'publish_app_events', 'events'):,} app events via Pub/Sub "
                        "and the streaming job; the daily workflow each day:",
                        seconds,
                    )
                )
                breakdown["replay_pipelines"] = [
                    {"date": d, "state": s, "duration": dur, "steps": st} for d, s, dur, st in runs
                ]
                for day, state, dur, timing in runs:
                    steps.append(Step(f"  daily_pipeline {day}", f"{state}: {timing}", _seconds_of(dur)))
                failed_runs = [
                    f"{day} {state}: {timing}" for day, state, _d, timing in runs if state != "SUCCEEDED"
                ]
            else:
                steps.append(Step("replay", f"{replay_days} days had already run: nothing to do", seconds))
        latest = _latest_ml_job(handle.env, settings)
    if latest is not None:
        when = (latest.get("parameter_values") or {}).get("as_of_date")
        steps.append(Step(f"ML, latest daily_ml ({when})", _ml_did(latest.get("outputs") or {}), 0.0))
    stop_dashboards(dashboards)
    t0 = time.perf_counter()
    panels = panel_states(settings)
    empty = [name for name, p in panels.items() if p["problem"]]
    steps.append(
        Step(
            "dashboards",
            f"{len(panels) - len(empty)} of {len(panels)} panels drawn"
            + "".join(
                f"; {panels[name]['page']} page, {name}: {str(panels[name]['problem']).split(':')[0]}"
                for name in empty
            ),
            time.perf_counter() - t0,
        )
    )
    breakdown["dashboards_s"] = steps[-1].seconds
    total = time.perf_counter() - started

    table = Table(title=f"What ran ({total / 60:.1f} min in all)")
    table.add_column("step")
    table.add_column("what it did")
    table.add_column("seconds", justify="right")
    for step in steps:
        table.add_row(step.name, step.did, f"{step.seconds:,.1f}" if step.seconds else "")
    console.print(table)
    merged = merge_counts(*counts)
    reconciled = print_reconciliation(merged, console) if merged else True
    if not merged:
        console.print("Every day had already run: nothing new to reconcile (`make clean` starts over).")
    console.print("[bold]Where to look[/]")
    console.print(
        f"  dashboards: [cyan]rillflow dashboards serve[/] serves them again on http://127.0.0.1:{settings.ports.dashboard}/ "
        "(History, /predictions, /live)"
    )
    console.print('  the warehouse: [cyan]rillflow sql "SELECT * FROM bi.bi_churn_top_at_risk LIMIT 10"[/]')
    console.print(
        "  models: [cyan]rillflow ml registry list[/]; the daily workflow runs: [cyan]rillflow workflows list[/] (with [cyan]rillflow local up[/] running)"
    )
    console.print(f"  logs and state: {settings.home} (this summary: {settings.home / DEMO_FILE})")
    record = {
        "seconds": round(total, 1),
        "breakdown": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in breakdown.items()},
        "first_day": first_day.isoformat(),
        "days": days,
        "backfill_days": backfill_days,
        "replay_days": replay_days,
        "app_events_per_day": app_events_per_day,
        "reconciled": reconciled,
        "failed_pipelines": failed_runs,
        "panels": panels,
        "empty_panels": empty,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_demo_record(settings.home, record)
    for line in failed_runs:  # the data reconciles, but a day's warehouse and models were not built
        console.print(
            f"[red]daily_pipeline {line}[/]: `rillflow workflows list` shows it (with the stack up)"
        )
    if not reconciled or failed_runs:
        raise SystemExit(1)


def _seconds_of(text: str) -> float:
    """``12.3s`` / ``2.1min`` (``rillflow.commands.workflows.duration``) as seconds."""
    try:
        if text.endswith("min"):
            return float(text[:-3]) * 60
        return float(text.rstrip("s"))
    except ValueError:
        return 0.0


def write_demo_record(home: Path, record: dict[str, Any]) -> Path:
    path = home / DEMO_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path
