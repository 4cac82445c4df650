"""When is a day's bronze complete, and starting the daily pipeline exactly once for it.

Order of arrival: ``generate_clickstream`` and ``ingest_startups`` land their files on their own
schedules, while the sales Parquet is exported *by* the daily pipeline (its first step calls
``export_sales``), so it lands after the workflow started. A day D is therefore complete when
its clickstream file has landed, plus its startups file when one is expected: on Fridays, and on
the day of the first (full) load. A quarantined file counts as landed: the day still runs and the
bad file waits in quarantine with its reason. Sales landing is recorded but starts nothing.

Exactly once: before calling the Executions API the caller must win the create-only claim
``daily_runs/{D}``; a failed call releases the claim so that the redelivered event retries.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from rillflow_functions.ports import DocumentStore, TransactionView, WorkflowLauncher

log = logging.getLogger(__name__)

DAILY_LOADS = "daily_loads"
DAILY_RUNS = "daily_runs"
STARTUPS_STATE = "ingestion_state/startups"
DAILY_WORKFLOW = "daily_pipeline"
FRIDAY = 4
TRIGGERING_FLOWS = ("clickstream", "startups")


def expected_flows(day: date, full_load_dt: str | None) -> set[str]:
    """The flows that must land before day ``day``'s pipeline may start."""
    flows = {"clickstream"}
    if day.weekday() == FRIDAY or (full_load_dt is not None and full_load_dt == day.isoformat()):
        flows.add("startups")
    return flows


def is_complete(landed: Iterable[str], expected: set[str]) -> bool:
    return expected <= set(landed)


def run_id_for(day: date) -> str:
    """Deterministic: the same day always gets the same run id."""
    return f"daily-{day:%Y%m%d}"


def record_landing(documents: DocumentStore, day: date, flow: str, manifest_id: str, status: str) -> set[str]:
    """Note that ``flow`` landed for ``day`` (idempotent); the set of flows landed so far."""
    path = f"{DAILY_LOADS}/{day.isoformat()}"

    def body(view: TransactionView) -> set[str]:
        doc = view.get(path) or {"dt": day.isoformat(), "flows": {}}
        flows: dict[str, Any] = dict(doc.get("flows") or {})
        entry = {"manifest_id": manifest_id, "status": status}
        if flows.get(flow) != entry:
            flows[flow] = entry
            view.set(path, {**doc, "flows": flows})
        return set(flows)

    return documents.run_transaction(body)


@dataclass(frozen=True)
class StartDecision:
    started: bool
    reason: str
    execution: str | None = None


def start_if_complete(
    documents: DocumentStore, workflows: WorkflowLauncher, day: date, landed: set[str]
) -> StartDecision:
    state = documents.get(STARTUPS_STATE) or {}
    expected = expected_flows(day, state.get("full_load_dt"))
    if not is_complete(landed, expected):
        return StartDecision(False, f"waiting for {sorted(expected - landed)}")
    run_path = f"{DAILY_RUNS}/{day.isoformat()}"
    run_id = run_id_for(day)
    claim = {"dt": day.isoformat(), "run_id": run_id, "status": "claimed", "flows": sorted(landed)}
    if not documents.create(run_path, claim):
        return StartDecision(False, "already claimed")
    try:
        weekly = "startups" in expected  # the day a startups load lands also runs the weekly Dataform tag
        execution = workflows.start(
            DAILY_WORKFLOW, {"date": day.isoformat(), "run_id": run_id, "weekly": weekly}
        )
    except Exception:
        log.exception(
            "starting %s for %s failed; releasing the claim so a redelivery retries", DAILY_WORKFLOW, day
        )
        documents.delete(run_path)
        raise
    documents.set(run_path, {**claim, "status": "started", "execution": execution})
    return StartDecision(True, "started", execution)
