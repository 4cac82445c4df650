"""What ``on_bronze_object_finalized`` does with one new object version in the lake bucket.

Validate it against its flow's contract, record it in the load manifest
(``load_manifest/{urlsafe(bucket/name#generation)}``, create-if-absent, so a redelivered event
finds its version already recorded and does no work twice), copy a bad file to
``quarantine/<name>`` with a ``.reason.json`` beside it, and then see whether the day is complete.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from rillflow_functions import day_completion, lake_paths
from rillflow_functions.bronze_validation import FileReport, validate_bronze_file
from rillflow_functions.ports import DocumentStore, ObjectInfo, ObjectNotFound, ObjectStore, WorkflowLauncher

log = logging.getLogger(__name__)
MANIFEST = "load_manifest"


@dataclass(frozen=True)
class LoadOutcome:
    action: str  # ignored | gone | loaded | quarantined | duplicate
    manifest_id: str | None = None
    rows: int = 0
    reason: str | None = None
    started: bool = False
    start_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def quarantine(lake: ObjectStore, obj: ObjectInfo, report: FileReport, flow: str | None) -> str:
    """Copy the bad version aside and write why next to it; the copy's name."""
    target = lake_paths.quarantine_name(obj.name)
    lake.copy(obj.name, obj.generation, target)
    reason = {
        "source": lake_paths.gcs_uri(obj.bucket, obj.name),
        "generation": obj.generation,
        "flow": flow,
        "reason": report.reason,
        "first_bad": report.first_bad,
        "rows": report.rows,
    }
    body = json.dumps(reason, indent=2, sort_keys=True, default=str).encode()
    # Overwrite any older reason for the same name: the copy above was overwritten too.
    current = lake.stat(lake_paths.reason_name(obj.name))
    lake.write(
        lake_paths.reason_name(obj.name), body, "application/json", current.generation if current else 0
    )
    return target


def handle_object(
    documents: DocumentStore, lake: ObjectStore, workflows: WorkflowLauncher, obj: ObjectInfo
) -> LoadOutcome:
    if obj.bucket != lake.bucket or not lake_paths.is_bronze(obj.name):
        return LoadOutcome("ignored", reason="not a bronze object of the lake bucket")
    mid = lake_paths.manifest_id(obj.bucket, obj.name, obj.generation)
    try:
        parsed: lake_paths.BronzeObject | None = lake_paths.parse_bronze(obj.name)
    except lake_paths.UnrecognizedBronzePath as exc:
        parsed = None
        path_problem = str(exc)
    existing = documents.get(f"{MANIFEST}/{mid}")
    if existing is not None:
        outcome = LoadOutcome("duplicate", mid, int(existing.get("rows", 0)), existing.get("reason"))
        status = existing["status"]
    else:
        try:
            data = lake.read(obj.name, obj.generation)
        except ObjectNotFound:
            # Replaced or deleted since the event was sent; the newer version has its own event.
            return LoadOutcome("gone", mid, reason="object version no longer exists")
        if parsed is None:
            report = FileReport(ok=False, rows=0, reason=path_problem, first_bad={"field": "<name>"})
        else:
            report = validate_bronze_file(parsed, data, obj.metadata)
        status = "loaded" if report.ok else "quarantined"
        entry: dict[str, Any] = {
            "bucket": obj.bucket,
            "name": obj.name,
            "generation": obj.generation,
            "size": obj.size,
            "flow": parsed.flow if parsed else None,
            "dt": parsed.dt.isoformat() if parsed else None,
            "load_type": parsed.load_type if parsed else None,
            "rows": report.rows,
            "status": status,
        }
        if not report.ok:
            entry["quarantine_name"] = quarantine(lake, obj, report, entry["flow"])
            entry["reason"] = report.reason
            entry["first_bad"] = report.first_bad
        if not documents.create(f"{MANIFEST}/{mid}", entry):
            log.info("manifest %s was created concurrently; treating this delivery as a duplicate", mid)
        outcome = LoadOutcome(status, mid, report.rows, report.reason)
    if parsed is None:
        return outcome
    return _after_landing(documents, workflows, parsed.dt, parsed.flow, mid, status, outcome)


def _after_landing(
    documents: DocumentStore,
    workflows: WorkflowLauncher,
    day: date,
    flow: str,
    mid: str,
    status: str,
    outcome: LoadOutcome,
) -> LoadOutcome:
    landed = day_completion.record_landing(documents, day, flow, mid, status)
    if flow not in day_completion.TRIGGERING_FLOWS:
        return outcome
    decision = day_completion.start_if_complete(documents, workflows, day, landed)
    return LoadOutcome(
        outcome.action, outcome.manifest_id, outcome.rows, outcome.reason, decision.started, decision.reason
    )
