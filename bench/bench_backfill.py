"""``backfill.days_per_minute``, ``replay.day_seconds`` and ``demo.seconds``: history in bulk, one
day event-driven, and the whole demo.

* ``backfill.days_per_minute``: a private local stack (free ports, its own RILLFLOW_HOME)
  backfills ``RILLFLOW_BENCH_BACKFILL_DAYS`` days (default 90) from 2026-01-01 at the demo's
  app-event rate (``rillflow backfill``: every batch flow, the app events through the streaming
  pipeline's transforms, one Dataform full refresh, the ML pipeline training both models), then
  replays the next day event-driven in the same stack. Value: backfilled days per minute, all of
  it included; reference: the replayed day's days per minute (the same work a day at a time,
  through the scheduler, events, Pub/Sub and the daily workflow, scoring with the trained models);
  ratio: how many times faster the backfill fills a day. Details: seconds per backfill step.
* ``replay.day_seconds``: that replayed day's wall seconds; reference: the CPU seconds every
  process of the stack spent on it (``/proc``), so the ratio says how much of the day is waiting;
  details: the replay's phases and the daily pipeline's steps. Goal (the demo issue): ≤ 5 s.
* ``demo.seconds``: ``rillflow demo`` in a child process on a fresh RILLFLOW_HOME (free ports; the
  install is not in it: ``make demo`` adds ``make setup``'s time on a fresh clone). Value: the
  seconds the demo records in ``demo.json``; reference: the same days replayed event-driven,
  estimated from the demo's own replayed days (their seconds per day times all the days); details:
  the demo's breakdown. Goal: ≤ 600 s on the 2-core development machine.
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench import Result, benchmark

FIRST_DAY = date(2026, 1, 1)
DEMO_GOAL_S = 600.0


def _days() -> int:
    return int(os.environ.get("RILLFLOW_BENCH_BACKFILL_DAYS", "90"))


@functools.cache
def _history_then_a_day() -> dict[str, Any]:
    """Backfill the history on a private stack, then replay the next day event-driven in it, once
    per bench process (both ``backfill.days_per_minute`` and ``replay.day_seconds`` read it)."""
    from rich.console import Console

    from harness.testing import running_stack
    from rillflow.commands.backfill import backfill
    from rillflow.commands.run import replay
    from rillflow.settings import get_settings

    days = _days()
    day = FIRST_DAY + timedelta(days=days)
    home = Path(tempfile.mkdtemp(prefix="rillflow-bench-backfill-"))
    quiet = Console(file=io.StringIO(), width=200)
    try:
        with running_stack(home):
            settings = get_settings()
            rate = settings.app_events_per_day
            t0 = time.perf_counter()
            filled = backfill(settings, FIRST_DAY, days, rate, quiet)
            backfill_s = time.perf_counter() - t0
            cpu0 = tree_cpu_seconds()
            t0 = time.perf_counter()
            replayed = replay(settings, day, 1, rate, quiet)
            replay_s = time.perf_counter() - t0
            replay_cpu = tree_cpu_seconds() - cpu0
            steps = _pipeline_steps(settings, day)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if filled.report is None or replayed.report is None:
        raise RuntimeError("the bench's stack was not fresh: nothing was backfilled or replayed")
    if not all(c.ok for c in (*filled.counts, *replayed.counts)):
        raise RuntimeError("the backfill or the replay did not reconcile")
    return {
        "days": days,
        "day": day,
        "rate": rate,
        "backfill": filled.report,
        "backfill_s": backfill_s,
        "replay": replayed.report,
        "replay_s": replay_s,
        "replay_cpu_s": replay_cpu,
        "pipeline_steps": steps,
    }


def _pipeline_steps(settings: Any, day: date) -> dict[str, float]:
    """The step timings the day's ``daily_pipeline`` execution returned (``timings``)."""
    from google.cloud.workflows.executions_v1.types import ExecutionView, ListExecutionsRequest

    from rillflow.workflows_client import executions_client

    client = executions_client(settings.workflows_host)
    parent = f"projects/{settings.project}/locations/{settings.region}/workflows/daily_pipeline"
    request = ListExecutionsRequest(parent=parent, view=ExecutionView.FULL, page_size=100)
    for execution in client.list_executions(request=request):
        argument = json.loads(execution.argument or "{}")
        if argument.get("date") == day.isoformat() and execution.result:
            timings = json.loads(execution.result).get("timings") or {}
            return {k.removesuffix("_s"): float(v) for k, v in timings.items() if isinstance(v, int | float)}
    return {}


def tree_cpu_seconds() -> float:
    """CPU seconds (user + system) of this process, its children that ended, and every live
    descendant, from ``/proc`` (Linux; the local stack's functions, emulators and drains are
    child processes). A difference of two readings is the CPU the whole stack spent between them,
    as long as no live descendant ends in between without being waited for by its parent."""
    import resource

    tick = os.sysconf("SC_CLK_TCK")
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    me = os.getpid()
    for pid in cpu:
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1, me):
            ancestor = parents.get(ancestor)
        if ancestor == me and pid != me:
            total += cpu[pid]
    return total


@benchmark("backfill.days_per_minute")
def backfill_days_per_minute() -> Result:
    run = _history_then_a_day()
    report: Any = run["backfill"]
    details = {step: (seconds, "s") for step, seconds in report.seconds.items()}
    details["backfill (all of it)"] = (run["backfill_s"], "s")
    details["replayed day (reference)"] = (run["replay_s"], "s")
    return Result(
        run["days"] / run["backfill_s"] * 60,
        "days/min",
        reference=60 / run["replay_s"],
        note=f"{run['days']} days at {run['rate']:,} app events/day, Dataform and ML training included; "
        "reference: one day replayed event-driven",
        details=details,
    )


@benchmark("replay.day_seconds")
def replay_day_seconds() -> Result:
    run = _history_then_a_day()
    report: Any = run["replay"]
    details = {phase: (seconds, "s") for phase, seconds in report.seconds.items()}
    details.update({f"  daily_pipeline: {step}": (s, "s") for step, s in run["pipeline_steps"].items()})
    details["CPU of every process of the stack (reference)"] = (run["replay_cpu_s"], "s")
    return Result(
        run["replay_s"],
        "s",
        reference=run["replay_cpu_s"],
        note=f"{run['day']} replayed event-driven after {run['days']} backfilled days, all flows, "
        f"{run['rate']:,} app events/day, models scoring (no training); reference: the CPU seconds "
        "the stack's processes spent on that day (wall ÷ CPU above 1 is waiting, below 1 is the "
        "second core)",
        details=details,
    )


def _free_ports() -> dict[str, str]:
    """``RILLFLOW_PORT_*`` for a stack beside any other on this machine."""
    from localgcp.services.functions.host import free_port
    from rillflow.settings import Ports

    ports = {f"RILLFLOW_PORT_{name.upper()}": str(free_port()) for name in Ports.__dataclass_fields__}
    base = free_port()  # functions take consecutive ports from their base
    ports["RILLFLOW_PORT_FUNCTIONS_BASE"] = str(base + 100 if base < 60000 else 30000)
    return ports


@benchmark("demo.seconds")
def demo_seconds() -> Result:
    home = Path(tempfile.mkdtemp(prefix="rillflow-bench-demo-"))
    env = {**os.environ, **_free_ports(), "RILLFLOW_HOME": str(home)}
    try:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "rillflow"), "demo"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=3600,
            check=False,
        )
        record_path = home / "demo.json"
        if proc.returncode != 0 or not record_path.exists():
            raise RuntimeError(f"rillflow demo failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
        record = json.loads(record_path.read_text())
    finally:
        shutil.rmtree(home, ignore_errors=True)
    breakdown = record.get("breakdown", {})
    replay_days = int(record.get("replay_days") or 0)
    reference = None
    if replay_days and breakdown.get("replay_s"):
        reference = float(breakdown["replay_s"]) / replay_days * int(record["days"])
    details = {k: (float(v), "s") for k, v in breakdown.items() if isinstance(v, int | float)}
    for step, seconds in (breakdown.get("backfill_steps_s") or {}).items():
        details[f"  backfill: {step}"] = (float(seconds), "s")
    empty = record.get("empty_panels") or []
    goal = "≤ 600 s ✔" if record["seconds"] <= DEMO_GOAL_S else "≤ 600 s ✘"
    return Result(
        float(record["seconds"]),
        "s",
        reference=reference,
        note=f"{record['days']} days ({record['backfill_days']} backfilled, {replay_days} replayed) at "
        f"{record['app_events_per_day']:,} app events/day; reference: all days replayed (estimated from "
        f"the demo's replayed days); goal {goal}; empty panels: {', '.join(empty) or 'none'}",
        details=details,
    )
