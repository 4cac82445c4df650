"""What ``on_bronze_object_finalized`` does with one new object version in the lake bucket.

Validate it against its flow's contract, record it in the load manifest
(``load_manifest/{urlsafe(bucket/name#generation)}``, create-if-absent, so a redelivered event
finds its version already recorded and does no work twice), and then see whether the day is
complete.

A version with bad records is set aside whole: copied to ``quarantine/<name>`` with a
``.reason.json`` beside it that lists every rejected record (number, field, reason). Bronze then
keeps only what passed, because the warehouse reads bronze through external tables and one
unreadable line fails them for every day: the object is replaced by its valid records (metadata
``split_from`` = the bad generation, ``rejected_rows``; recorded in the manifest as loaded right
away), or deleted when none is valid or the whole file is refused. Both writes carry the bad
version's generation as precondition, so a newer version written meanwhile is never touched (it
has its own event). The bad version's manifest says what became of bronze (``bronze``:
``pending`` until done, then ``replaced``, ``deleted`` or ``superseded``); a redelivery finishes a
``pending`` one.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from rillflow_functions import day_completion, lake_paths
from rillflow_functions.bronze_validation import ROWS_METADATA_KEY, FileReport, validate_bronze_file
from rillflow_functions.ports import (
    DocumentStore,
    GenerationMismatch,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    WorkflowLauncher,
)

log = logging.getLogger(__name__)
MANIFEST = "load_manifest"
#: object metadata of a bronze version that holds the valid records of a quarantined one
SPLIT_FROM_KEY = "split_from"
REJECTED_ROWS_KEY = "rejected_rows"
#: what became of bronze after a bad version was quarantined (the manifest's ``bronze`` field)
PENDING, REPLACED, DELETED, SUPERSEDED = "pending", "replaced", "deleted", "superseded"
_CONTENT_TYPES = {"jsonl": "application/x-ndjson", "parquet": lake_paths.PARQUET_CONTENT_TYPE}


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
        "rejected_rows": report.rejected_rows,
        "kept_rows": report.kept_rows if report.kept is not None else 0,
        # every rejected record; empty when the whole file is refused (``reason`` says why)
        "rejected": list(report.rejects),
    }
    body = json.dumps(reason, indent=2, sort_keys=True, default=str).encode()
    # Overwrite any older reason for the same name: the copy above was overwritten too.
    current = lake.stat(lake_paths.reason_name(obj.name))
    lake.write(
        lake_paths.reason_name(obj.name), body, "application/json", current.generation if current else 0
    )
    return target


def _manifest_path(mid: str) -> str:
    return f"{MANIFEST}/{mid}"


def _split_metadata(obj: ObjectInfo) -> dict[str, Any]:
    """What a version written by :func:`keep_only_valid` says of its origin (manifest fields)."""
    out: dict[str, Any] = {}
    meta = obj.metadata or {}
    if meta.get(SPLIT_FROM_KEY, "").isdigit():
        out[SPLIT_FROM_KEY] = int(meta[SPLIT_FROM_KEY])
        rejected = meta.get(REJECTED_ROWS_KEY, "")
        out[REJECTED_ROWS_KEY] = int(rejected) if rejected.isdigit() else 0
    return out


def keep_only_valid(
    documents: DocumentStore,
    lake: ObjectStore,
    obj: ObjectInfo,
    parsed: lake_paths.BronzeObject | None,
    report: FileReport | None,
) -> dict[str, Any]:
    """Leave in bronze only the valid records of the quarantined version ``obj`` (see the module
    doc); the manifest fields that say what was done. ``report`` None: a redelivery found the
    work ``pending`` and the version's bytes must be read again."""
    current = lake.stat(obj.name)
    if current is None or current.generation != obj.generation:
        # done before a crash (our own replacement or delete), or someone wrote a newer version
        done = current is not None and current.metadata.get(SPLIT_FROM_KEY) == str(obj.generation)
        state = REPLACED if done else (DELETED if current is None else SUPERSEDED)
        return {"bronze": state, "bronze_generation": current.generation if current else None}
    if report is None:
        data = lake.read(obj.name, obj.generation)
        report = (
            validate_bronze_file(parsed, data, obj.metadata)
            if parsed is not None
            else FileReport(ok=False, rows=0)
        )
    try:
        if parsed is None or report.kept is None or report.kept_rows == 0:
            if not lake.delete(obj.name, obj.generation):
                return {"bronze": SUPERSEDED, "bronze_generation": None}
            return {"bronze": DELETED, "bronze_generation": None}
        metadata = {
            ROWS_METADATA_KEY: str(report.kept_rows),
            SPLIT_FROM_KEY: str(obj.generation),
            REJECTED_ROWS_KEY: str(report.rejected_rows),
        }
        kept = lake.write(obj.name, report.kept, _CONTENT_TYPES[parsed.file_format], obj.generation, metadata)
    except GenerationMismatch:
        return {"bronze": SUPERSEDED, "bronze_generation": None}
    entry = {
        "bucket": kept.bucket,
        "name": kept.name,
        "generation": kept.generation,
        "size": kept.size,
        "flow": parsed.flow,
        "dt": parsed.dt.isoformat(),
        "load_type": parsed.load_type,
        "rows": report.kept_rows,
        "status": "loaded",
        SPLIT_FROM_KEY: obj.generation,
        REJECTED_ROWS_KEY: report.rejected_rows,
    }
    # recorded now, so the counts add up even while (or if never) its own event is delivered
    documents.create(_manifest_path(lake_paths.manifest_id(kept.bucket, kept.name, kept.generation)), entry)
    return {"bronze": REPLACED, "bronze_generation": kept.generation}


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
    existing = documents.get(_manifest_path(mid))
    if existing is not None:
        outcome = LoadOutcome("duplicate", mid, int(existing.get("rows", 0)), existing.get("reason"))
        status = existing["status"]
        if existing.get("bronze") == PENDING:  # a crash stopped the delivery that quarantined it
            done = keep_only_valid(documents, lake, obj, parsed, None)
            documents.update(_manifest_path(mid), done)
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
            **(_split_metadata(obj) if report.ok else {}),
        }
        if not report.ok:
            entry["quarantine_name"] = quarantine(lake, obj, report, entry["flow"])
            entry["reason"] = report.reason
            entry["first_bad"] = report.first_bad
            entry[REJECTED_ROWS_KEY] = report.rejected_rows
            entry["bronze"] = PENDING
        if not documents.create(_manifest_path(mid), entry):
            log.info("manifest %s was created concurrently; treating this delivery as a duplicate", mid)
        elif not report.ok:
            done = keep_only_valid(documents, lake, obj, parsed, report)
            documents.update(_manifest_path(mid), done)
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
