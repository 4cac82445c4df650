"""Which days already ran, and running a day's pipeline again the way an operator would.

A day has run once its daily pipeline was claimed: ``on_bronze_object_finalized`` writes
``daily_runs/{D}`` create-only before it starts the ``daily_pipeline`` execution (see
``functions/rillflow_functions/day_completion.py``). Replaying that day again publishes the same
events and asks for the same bronze objects, which the create-only flows find already there, so
no finalize event fires and the claim keeps the pipeline from starting twice — as it must, since
a retried Scheduler call must not re-run a day. The streaming job, though, writes the day's
minute files again beside the day's compacted file. So a deliberate re-run ends as the cloud's
would: start the execution again with the first one's argument (what ``gcloud workflows run
daily_pipeline --data=...`` does), which compacts the day back to one copy of each event and
rebuilds its tables. Everything goes through the official Firestore and Executions clients.

A backfill (``harness.backfill``) claims its days with the same code but runs their pipelines in
bulk, so its claims point at no execution; it marks a claim ``loaded`` once the day's bronze and
lake are in place and ``backfilled`` once the warehouse and models are built over the whole
window. A backfilled day counts as complete, a loaded one does not (its warehouse is not built).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from google.cloud import firestore  # type: ignore[attr-defined]
from google.cloud.workflows.executions_v1 import ExecutionsClient
from google.cloud.workflows.executions_v1.types import Execution

#: the claims collection ``day_completion`` writes (a test keeps the two names equal)
DAILY_RUNS = "daily_runs"
DAILY_WORKFLOW = "daily_pipeline"
SUCCEEDED = "SUCCEEDED"
#: a claim whose execution was never started or cannot be found
CLAIMED = "CLAIMED"
#: a claim a backfill completed: bronze, lake, warehouse and models in place
BACKFILLED = "BACKFILLED"
#: a claim a backfill loaded (bronze and lake) but whose warehouse build has not finished
LOADED = "LOADED"
#: the claim ``status`` values a backfill writes, and the state each one means
BACKFILL_STATUSES = {"backfilled": BACKFILLED, "loaded": LOADED}


@dataclass(frozen=True)
class DayRun:
    """A day's claim and the state of the execution it points at."""

    day: date
    state: str  # an Execution.State name (SUCCEEDED, FAILED, ACTIVE, CANCELLED), CLAIMED, or a backfill's
    execution: str | None
    argument: dict[str, Any] | None

    @property
    def complete(self) -> bool:
        return self.state in (SUCCEEDED, BACKFILLED)


@dataclass(frozen=True)
class DayPlan:
    """What a replay of ``[first_day, first_day + days)`` will do about days that already ran."""

    first_day: date
    days: int
    skipped: list[date]  # complete days at the head of the window, left as they are
    rerun: dict[date, DayRun]  # days replayed again whose pipeline is then started again

    def describe(self) -> list[str]:
        lines = []
        if self.skipped:
            lines.append(
                f"{_span(self.skipped)} already ran (daily pipeline SUCCEEDED or backfilled): skipped; "
                "--force runs them again"
            )
        if self.rerun:
            states = ", ".join(f"{d} {r.state}" for d, r in sorted(self.rerun.items()))
            lines.append(
                f"re-running days that already ran ({states}): the same events are published again and "
                "each day's pipeline runs again, so the lake, manifests and warehouse end as after one run"
            )
        if not self.days:
            lines.append("nothing to replay")
        return lines


def plan_days(first_day: date, days: int, runs: dict[date, DayRun], force: bool) -> DayPlan:
    """Skip the leading days that completed (unless ``force``); re-run every other day that ran."""
    window = [first_day + timedelta(days=i) for i in range(days)]
    skipped: list[date] = []
    if not force:
        for day in window:
            if day not in runs or not runs[day].complete:
                break
            skipped.append(day)
    rest = window[len(skipped) :]
    rerun = {day: runs[day] for day in rest if day in runs}
    return DayPlan(rest[0] if rest else first_day + timedelta(days=days), len(rest), skipped, rerun)


class DayRuns:
    """Reads the claims and re-starts a day's execution through the official clients."""

    def __init__(self, documents: firestore.Client, executions: ExecutionsClient, workflow: str) -> None:
        """``workflow``: ``projects/P/locations/L/workflows/daily_pipeline``."""
        self.documents = documents
        self.executions = executions
        self.workflow = workflow

    def find(self, days: Iterable[date]) -> dict[date, DayRun]:
        refs = [self.documents.collection(DAILY_RUNS).document(d.isoformat()) for d in days]
        found: dict[date, DayRun] = {}
        for snapshot in self.documents.get_all(refs):
            claim = snapshot.to_dict() if snapshot.exists else None
            if claim is None:
                continue
            day = date.fromisoformat(snapshot.id)
            found[day] = self._run(day, claim)
        return found

    def _run(self, day: date, claim: dict[str, Any]) -> DayRun:
        name = claim.get("execution")
        backfill_state = BACKFILL_STATUSES.get(str(claim.get("status")))
        if backfill_state is not None:
            return DayRun(day, backfill_state, name, claim_argument(claim))
        if name:
            try:
                execution = self.executions.get_execution(name=name)
            except Exception:  # noqa: BLE001 - a claim pointing nowhere is a day to run again
                execution = None
            if execution is not None:
                argument = json.loads(execution.argument) if execution.argument else None
                return DayRun(day, Execution.State(execution.state).name, name, argument)
        return DayRun(day, CLAIMED, name, claim_argument(claim))

    def rerun(self, run: DayRun) -> str:
        """Start the day's pipeline again with the argument it first ran with; the claim records
        the new execution (and keeps the old one's name) so the once-per-day rule still holds."""
        if run.argument is None:
            raise ValueError(f"{run.day}: no argument to run the day's pipeline with")
        started = self.executions.create_execution(
            parent=self.workflow, execution=Execution(argument=json.dumps(run.argument, sort_keys=True))
        )
        ref = self.documents.collection(DAILY_RUNS).document(run.day.isoformat())
        update: dict[str, Any] = {"execution": started.name, "status": "started"}
        if run.execution:
            update["reruns"] = firestore.ArrayUnion([run.execution])
        ref.update(update)
        return str(started.name)


def claim_argument(claim: dict[str, Any]) -> dict[str, Any]:
    """What ``day_completion`` passed (or would have) to the day's pipeline, read from its claim:
    a day whose startups file landed also runs weekly."""
    return {
        "date": claim["dt"],
        "run_id": claim["run_id"],
        "weekly": "startups" in claim.get("flows", []),
    }


def day_runs_for(project: str, region: str, workflows_address: str) -> DayRuns:
    """Claims in this project's Firestore; executions of its ``daily_pipeline`` (the local
    Workflows service when ``workflows_address`` is set, Google's otherwise)."""
    from rillflow.workflows_client import default_executions_client

    executions = default_executions_client(workflows_address)
    workflow = ExecutionsClient.workflow_path(project, region, DAILY_WORKFLOW)
    return DayRuns(firestore.Client(project=project), executions, workflow)


def _span(days: list[date]) -> str:
    return days[0].isoformat() if len(days) == 1 else f"{days[0]} … {days[-1]}"
