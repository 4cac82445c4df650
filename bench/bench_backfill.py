"""``backfill.days_per_minute`` and ``demo.seconds``: history in bulk, and the whole demo.

* ``backfill.days_per_minute``: a private local stack (free ports, its own RILLFLOW_HOME)
  backfills ``RILLFLOW_BENCH_BACKFILL_DAYS`` days (default 90) from 2026-01-01 at the demo's
  app-event rate (``rillflow backfill``: every batch flow, the app events through the streaming
  pipeline's transforms, one Dataform full refresh, the ML pipeline training both models), then
  replays the next day event-driven in the same stack. Value: backfilled days per minute, all of
  it included; reference: the replayed day's days per minute (the same work a day at a time,
  through the scheduler, events, Pub/Sub and the daily workflow, scoring with the trained models);
  ratio: how many times faster the backfill fills a day. Details: seconds per backfill step.
* ``demo.seconds``: ``rillflow demo`` in a child process on a fresh RILLFLOW_HOME (free ports; the
  install is not in it: ``make demo`` adds ``make setup``'s time on a fresh clone). Value: the
  seconds the demo records in ``demo.json``; reference: the same days replayed event-driven,
  estimated from the demo's own replayed days (their seconds per day times all the days); details:
  the demo's breakdown. Goal: ≤ 600 s on the 2-core development machine.
"""

from __future__ import annotations

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


@benchmark("backfill.days_per_minute")
def backfill_days_per_minute() -> Result:
    from rich.console import Console

    from localgcp.testing import running_stack
    from rillflow.commands.backfill import backfill
    from rillflow.commands.run import replay
    from rillflow.settings import get_settings

    days = _days()
    home = Path(tempfile.mkdtemp(prefix="rillflow-bench-backfill-"))
    quiet = Console(file=io.StringIO(), width=200)
    try:
        with running_stack(home):
            settings = get_settings()
            rate = settings.app_events_per_day
            t0 = time.perf_counter()
            filled = backfill(settings, FIRST_DAY, days, rate, quiet)
            backfill_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            replayed = replay(settings, FIRST_DAY + timedelta(days=days), 1, rate, quiet)
            replay_s = time.perf_counter() - t0
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if filled.report is None or replayed.report is None:
        raise RuntimeError("the bench's stack was not fresh: nothing was backfilled or replayed")
    if not all(c.ok for c in (*filled.counts, *replayed.counts)):
        raise RuntimeError("the backfill or the replay did not reconcile")
    report: Any = filled.report
    details = {step: (seconds, "s") for step, seconds in report.seconds.items()}
    details["backfill (all of it)"] = (backfill_s, "s")
    details["replayed day (reference)"] = (replay_s, "s")
    return Result(
        days / backfill_s * 60,
        "days/min",
        reference=60 / replay_s,
        note=f"{days} days at {rate:,} app events/day, Dataform and ML training included; "
        "reference: one day replayed event-driven",
        details=details,
    )


def _free_ports() -> dict[str, str]:
    """``RILLFLOW_PORT_*`` for a stack beside any other on this machine."""
    from localgcp.functions_host import free_port
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
