"""Crash drills: kill -9 the stack's child processes in turn during a replayed day with the stream
on; the stack restarts each (the functions host's supervisor, the storage service's, the drain's
rerun, the workflow's retry of a failed pipeline job), the day completes, reconciliation is exact,
and the lake, the manifests, the Firestore state and every warehouse table equal those a run
without crashes leaves (``tests.support.state``, the comparison ``tests/e2e/test_backfill.py``
uses).

The duplicates drill delivers every Eventarc event twice, each copy held back a random time up
to :data:`JITTER_S` (so out of order, which Eventarc allows), fires every scheduler tick twice and
sends every workflow step's HTTP call twice, and expects the same state again: on a replay of its
own in ``make drills``, together with the kills in ``make test``'s small version (one replay).

Victims are picked from ``rillflow local status --json``. The small version (``make test``) kills
the app-event publisher function mid-request, a streaming drain, fake-gcs-server (behind the
Storage gateway, which holds requests while the storage service starts it again) and a task
process of the day's Vertex AI pipeline (its job fails; the daily workflow runs the pipeline
again as a new job); the full one (``make drills``) kills every function process and the same
three, over two days. The emulators, the router, Workflows, the Dataform runner and the startups
API are threads of the ``python -m harness serve`` process, not processes of their own
(``harness/stack.py``): the stack-process drill (``make drills`` only: two more stack starts)
kills them all at once, and ``rillflow local up`` starts them again.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from google.cloud import aiplatform

from harness.stack import client_env
from harness.testing import running_stack
from localgcp.services.eventarc.router import COPIES_ENV, JITTER_ENV, SEED_ENV
from localgcp.services.scheduler.service import COPIES_ENV as SCHEDULER_COPIES_ENV
from localgcp.services.workflows.stdlib.http import COPIES_ENV as WORKFLOWS_HTTP_COPIES_ENV
from rillflow.commands.run import replay
from rillflow.settings import get_settings
from rillflow.vertex_client import init_vertex
from tests.drills import background
from tests.drills.crashes import Killer, status_processes
from tests.drills.figures import Figures, full, volume
from tests.support import replayed as shared
from tests.support.state import differences, same_rows

#: two replays of one small day (about a minute each on two busy cores); the full version more
pytestmark = [pytest.mark.drills, pytest.mark.e2e, pytest.mark.timeout(3600 if full() else 600)]

#: Thursday: its nightly jobs (Friday 01:00) include the weekly startups load and pipeline
DAY = date(2026, 1, 1)
DAYS = volume(1, 2)
EVENTS_PER_DAY = volume(300, 1_500)
SEED = int(os.environ.get("RILLFLOW_CRASH_SEED", "18"))
STORAGE_PROCESS = "storage:fake-gcs-server"
PIPELINE_STEP = "aiplatform:pipeline-step"
SMALL_VICTIMS = ["function:publish_app_events", "streaming:drain", STORAGE_PROCESS, PIPELINE_STEP]
#: pipeline tasks the drill kills: those that read or merge by key (killing a training task is
#: safe too, but registers one more model version than a calm run, which the comparison would see)
KILLABLE_STEPS = frozenset(
    {"churn_features_op", "churn_score_op", "forecast_series_op", "forecast_predict_op"}
)
#: a function is killed after a seeded random number of its requests, at most this many (else 1):
#: the minute publisher anywhere in the (first) day, the order handler among the day's orders
SPREAD = {
    "function:publish_app_events": 1_000,
    "function:on_sale_written": volume(30, 100),
    "function:on_bronze_object_finalized": 5,
}
#: functions with nothing to do on a calm day: killed while idle (the restart is what is tested)
IDLE_VICTIMS = frozenset({"function:on_pipeline_alert"})
#: the duplicates drill holds each Eventarc delivery back a random time up to this (seconds)
JITTER_S = 0.5
#: every Eventarc event twice and out of order, every scheduler tick and workflow HTTP call twice
DUPLICATES = {
    COPIES_ENV: "2",
    JITTER_ENV: str(JITTER_S),
    SEED_ENV: str(SEED),
    SCHEDULER_COPIES_ENV: "2",
    WORKFLOWS_HTTP_COPIES_ENV: "2",
}


def _run(
    home: Path,
    victims: list[str] | None,
    extra_env: dict[str, str] | None = None,
    calm_seconds: float = 60.0,
) -> dict[str, Any]:
    """Replay the days on a fresh stack, killing ``victims`` (None: a calm run); fake-gcs-server
    at a seeded time within the first half of a calm run's ``calm_seconds``."""
    with running_stack(home, extra_env) as stack:
        before = status_processes()
        killer = None
        if victims is not None:
            assert stack.control_url is not None
            at = {STORAGE_PROCESS: (3.0, max(4.0, 0.5 * calm_seconds))}
            where = {PIPELINE_STEP: lambda row: row.get("step") in KILLABLE_STEPS}
            killer = Killer(
                stack.control_url, victims, SEED, spread=SPREAD, anytime=IDLE_VICTIMS, at=at, where=where
            ).start()
        t0 = time.monotonic()
        try:
            outcome = replay(get_settings(), DAY, DAYS, EVENTS_PER_DAY, shared.quiet())
        finally:
            if killer is not None:
                killer.stop()
        seconds = time.monotonic() - t0
        settings = get_settings()
        init_vertex(settings.project, settings.region)
        pipeline_jobs = [
            (j.display_name, str(getattr(j.state, "name", j.state)), j.create_time.isoformat())
            for j in aiplatform.PipelineJob.list(project=settings.project, location=settings.region)
        ]
        return {
            "pipeline_jobs": sorted(pipeline_jobs, key=lambda j: j[2]),
            "outcome": outcome,
            "state": shared.state(),
            "before": before,
            "after": status_processes(),
            "killer": killer,
            "seconds": seconds,
            "dead_letters": stack.router.stats.dead_lettered if stack.router else -1,
            "delivered": stack.router.stats.delivered if stack.router else -1,
        }


@pytest.fixture(scope="module")
def calm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _run(tmp_path_factory.mktemp("calm"), None)


def _victims(rows: list[dict[str, Any]]) -> list[str]:
    if not full():
        return SMALL_VICTIMS
    functions = [r["name"] for r in rows if r["name"].startswith("function:")]
    return [*functions, "streaming:drain", STORAGE_PROCESS, PIPELINE_STEP]


def test_status_lists_every_process_with_pid_port_and_state(calm: dict[str, Any]) -> None:
    rows = {r["name"]: r for r in calm["before"]}
    functions = [n for n in rows if n.startswith("function:")]
    assert len(functions) == 9, sorted(rows)
    expected = {"harness serve", "control", "storage", "storage:fake-gcs-server", "firestore", "pubsub"}
    expected |= {"router", "router:pubsub-push", "workflows", "startups_api", "streaming:drain"}
    assert expected <= set(rows), sorted(rows)
    #: processes that only exist while they work (a drain, a pipeline's task, a custom job)
    transient = {"streaming:drain", PIPELINE_STEP, "aiplatform:custom-job"}
    assert transient <= set(rows), sorted(rows)
    for name, row in rows.items():
        assert row["state"] == ("idle" if name in transient else "up"), row
        if row["kind"] == "process" and name != "harness serve" and name not in transient:
            assert row["pid"] and row["pid"] != os.getpid(), row
        elif name not in transient:  # threads of the stack's process (here: the test's), and it
            assert row["pid"] in (os.getpid(), None), row
    assert all(rows[n]["port"] for n in functions + ["control", "workflows", "startups_api"])


def _assert_same_state(calm: dict[str, Any], other: dict[str, Any], what: str) -> None:
    """Lake objects, manifests, Firestore documents and warehouse tables equal, part by part (floats
    a model rounds to 6 decimals within ``FLOAT_TOLERANCE``, as tests/e2e/test_backfill.py)."""
    for part in ("objects", "manifests", "documents", "warehouse"):
        a, b = calm[part], other[part]
        if part == "documents":
            differ = [f"{name}: {d}" for name in a for d in differences(a[name], b[name])]
        else:
            differ = differences(a, b, same_rows if part == "warehouse" else None)
        assert a and differ == [], f"{part}: the {what} run differs from the calm one: {differ}"


def _multiset_gap(left: dict[str, Counter[str]], right: dict[str, Counter[str]]) -> tuple[int, int]:
    """Rows of ``left`` missing in ``right`` (lost) and rows of ``right`` beyond ``left`` (doubled)."""
    lost = sum((left[k] - right.get(k, Counter())).total() for k in left)
    doubled = sum((right[k] - left.get(k, Counter())).total() for k in right)
    return lost, doubled


def test_killed_processes_are_restarted_and_the_warehouse_is_that_of_a_calm_run(
    calm: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, drill: Figures
) -> None:
    victims = _victims(calm["before"])
    drill.drill = "crash: kill -9 " + (
        "every function process, a drain, fake-gcs-server and a pipeline task"
        if full()
        else "a function, a drain, fake-gcs-server and a pipeline task, with every event, tick "
        "and workflow call twice"
    )
    drill.volume = f"{DAYS} replayed day(s), {EVENTS_PER_DAY:,} app events/day, seed {SEED}"
    # make test's small version also doubles every delivery (the duplicates drill's faults, which
    # make drills runs on a replay of its own): one replay for both
    extra_env = None if full() else DUPLICATES
    crashed = _run(tmp_path_factory.mktemp("crashed"), victims, extra_env, calm_seconds=calm["seconds"])
    if extra_env is not None:
        drill.duplicates_delivered = crashed["delivered"] - calm["delivered"]
        assert crashed["delivered"] >= 2 * calm["delivered"] - 10, (crashed["delivered"], calm["delivered"])
    killer: Killer = crashed["killer"]
    rows = {r["name"]: r for r in crashed["after"]}
    restart_seconds = {
        k.victim: rows[k.victim].get("restart_seconds") for k in killer.kills if k.victim in rows
    }
    drill.killed = len(killer.kills)
    drill.duration_s = round(crashed["seconds"], 1)
    left, right = calm["state"]["warehouse"], crashed["state"]["warehouse"]
    drill.lost, drill.doubled = _multiset_gap(left, right)
    drill.details = {
        "checked": True,
        "kills": [vars(k) for k in killer.kills],
        "missed": killer.missed,
        "restart_seconds": restart_seconds,
        "calm_run_s": round(calm["seconds"], 1),
        "dead_letters": crashed["dead_letters"],
    }

    assert killer.missed == [] and sorted(k.victim for k in killer.kills) == sorted(victims), drill.details
    for kill in killer.kills:  # restarted, counted, and up again with a new process
        if kill.victim == PIPELINE_STEP:  # its job failed; the workflow ran the pipeline again
            states = [state for _, state, _ in crashed["pipeline_jobs"]]
            assert "PIPELINE_STATE_FAILED" in states, crashed["pipeline_jobs"]
            assert states[-1] == "PIPELINE_STATE_SUCCEEDED", crashed["pipeline_jobs"]
            assert len(states) == len(calm["pipeline_jobs"]) + 1, (calm["pipeline_jobs"], states)
            continue
        row = rows[kill.victim]
        assert row["restarts"] >= 1, row
        assert row["state"] == ("idle" if kill.victim == "streaming:drain" else "up"), row
        assert row["pid"] != kill.pid, row
    counts = crashed["outcome"].counts
    assert all(c.ok for c in counts), [c.line() for c in counts]
    assert crashed["dead_letters"] == calm["dead_letters"]
    _assert_same_state(calm["state"], crashed["state"], "crashed")


@pytest.mark.skipif(not full(), reason="the full drill only (make drills): two more stack starts and replays")
def test_a_killed_stack_is_started_again_by_local_up_and_the_day_resumes(
    calm: dict[str, Any], tmp_path: Path, drill: Figures
) -> None:
    """kill -9 ``python -m harness serve`` (every emulator, the router, Workflows: its threads) at
    a seeded random point of the replayed day; ``rillflow local up`` ends what it left running and
    starts the stack again, ``rillflow run`` of the same day(s) finishes the work, and the state is
    that of the calm run."""
    home = tmp_path / "home"
    env = {**os.environ, "RILLFLOW_HOME": str(home), **background.free_ports(functions=9)}
    # the repository's packages as `make setup` installs them (harness is not in an older install)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")])
    )
    env.setdefault("GOOGLE_CLOUD_PROJECT", "rillflow-test")
    env.setdefault("RILLFLOW_WORKFLOWS_TIME_SCALE", "0.02")
    run_args = [
        "run",
        "--from",
        DAY.isoformat(),
        "--days",
        str(DAYS),
        "--app-events-per-day",
        str(EVENTS_PER_DAY),
    ]
    drill.drill = "crash: kill -9 the stack process (python -m harness serve)"
    drill.volume = f"{DAYS} replayed day(s), {EVENTS_PER_DAY:,} app events/day, seed {SEED}"
    t0 = time.monotonic()
    up = background.rillflow(env, "local", "up", timeout=600)
    assert up.returncode == 0, up.stdout + up.stderr
    first = background.state(home)
    delay = random.Random(SEED).uniform(10.0, 0.6 * calm["seconds"])
    replaying = subprocess.Popen(
        [background.RILLFLOW, *run_args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        time.sleep(delay)
        assert replaying.poll() is None, "the replay ended before the kill: lower the delay"
        os.kill(int(first["pid"]), signal.SIGKILL)
        replaying.wait(timeout=900)
    finally:
        replaying.kill()
    children = [
        r["pid"]
        for r in first["processes"]
        if r["kind"] == "process" and r["pid"] != first["pid"] and r["pid"]
    ]
    again = background.rillflow(env, "local", "up", timeout=600)
    restart_s = time.monotonic() - t0
    try:
        assert again.returncode == 0 and "died" in again.stdout, again.stdout + again.stderr
        assert not [p for p in children if background.alive(p)], "the dead stack's children still run"
        resumed = background.rillflow(env, *run_args, timeout=1800)
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        second = background.state(home)
        os.environ.update({**client_env(get_settings(), second), "RILLFLOW_HOME": str(home)})
        os.environ.update(
            {k: v for k, v in env.items() if k.startswith("RILLFLOW_") or k == "GOOGLE_CLOUD_PROJECT"}
        )
        get_settings.cache_clear()
        crashed = shared.state()
    finally:
        background.rillflow(env, "local", "down", timeout=120)
    drill.killed = 1
    drill.duration_s = round(time.monotonic() - t0, 1)
    drill.lost, drill.doubled = _multiset_gap(calm["state"]["warehouse"], crashed["warehouse"])
    drill.details = {
        "checked": True,
        "killed_after_s": round(delay, 1),
        "until_up_again_s": round(restart_s, 1),
    }
    _assert_same_state(calm["state"], crashed, "resumed")


@pytest.mark.skipif(not full(), reason="the full drill only (make drills): one more replay")
def test_every_event_and_tick_delivered_twice_leaves_the_state_of_a_calm_run(
    calm: dict[str, Any], tmp_path_factory: pytest.TempPathFactory, drill: Figures
) -> None:
    twice = DUPLICATES
    drill.drill = (
        "duplicates: every Eventarc event (out of order), scheduler tick and workflow HTTP call twice"
    )
    drill.volume = f"{DAYS} replayed day(s), {EVENTS_PER_DAY:,} app events/day"
    doubled = _run(tmp_path_factory.mktemp("doubled"), None, twice)
    drill.duration_s = round(doubled["seconds"], 1)
    drill.duplicates_delivered = doubled["delivered"] - calm["delivered"]
    drill.lost, drill.doubled = _multiset_gap(calm["state"]["warehouse"], doubled["state"]["warehouse"])
    drill.details = {
        "checked": True,
        "deliveries": doubled["delivered"],
        "calm_deliveries": calm["delivered"],
    }
    assert doubled["delivered"] >= 2 * calm["delivered"] - 10, drill.details  # each event went twice
    counts = doubled["outcome"].counts
    assert all(c.ok for c in counts), [c.line() for c in counts]
    _assert_same_state(calm["state"], doubled["state"], "doubled")
