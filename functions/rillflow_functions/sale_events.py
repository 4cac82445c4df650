"""``on_sale_written``: one Firestore write of ``sales/{order_id}`` into the daily ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.events.cloud.firestore import DocumentEventData

from rillflow_functions import firestore_values as fv
from rillflow_functions import ledger, orders
from rillflow_functions.ports import DocumentStore

SALES = "sales"


def order_id_of(data: DocumentEventData, subject: str | None = None) -> str:
    for doc in (data.value, data.old_value):
        if fv.has_document(doc):
            return str(doc.name).rsplit("/", 1)[-1]
    if subject and "/" in subject:
        return subject.rsplit("/", 1)[-1]
    raise ValueError("the event carries neither a document nor a subject naming one")


def order_contribution(
    raw: dict[str, Any] | None, order_id: str, version: datetime
) -> tuple[dict[str, Any] | None, ledger.Contribution, str | None]:
    """The order as stored (platform fields such as ``validation`` left out), what this version of it
    adds to the ledger, and why it is invalid (None when valid); ``raw`` is None for a delete."""
    order = {k: v for k, v in raw.items() if k not in orders.PLATFORM_FIELDS} if raw is not None else None
    contribution, problem = ledger.contribution_of(order, order_id, version.date().isoformat())
    return order, contribution, problem


def handle_sale_written(
    documents: DocumentStore, data: DocumentEventData, event_time: datetime, subject: str | None = None
) -> dict[str, Any]:
    order_id = order_id_of(data, subject)
    exists = fv.has_document(data.value)
    raw = fv.decode_fields(data.value) if exists else None
    # Version = the document's update time; a delete has none, so it takes the event time.
    version = (fv.document_update_time(data.value) if exists else None) or event_time.astimezone(UTC)
    order, contribution, problem = order_contribution(raw, order_id, version)
    outcome = documents.run_transaction(
        lambda view: ledger.record_order_version(view, order_id, contribution, version)
    )
    result: dict[str, Any] = {
        "order_id": order_id,
        "action": outcome.action,
        "days": list(outcome.days),
        "valid": problem is None and order is not None,
        "reason": problem,
    }
    if (
        raw is not None
        and outcome.action != "stale"
        and ledger.validation_flag(problem, raw.get("validation"))
    ):
        result["flagged"] = _flag(documents, order_id, order, problem)
    return result


def _flag(documents: DocumentStore, order_id: str, order: dict[str, Any] | None, problem: str | None) -> bool:
    """Write the order's ``validation`` field when the *stored* document still is this version and
    lacks the right flag (a redelivered old event must not write again, nor flag a newer version)."""
    current = documents.get(f"{SALES}/{order_id}")
    if current is None:
        return False
    if {k: v for k, v in current.items() if k not in orders.PLATFORM_FIELDS} != order:
        return False
    flag = ledger.validation_flag(problem, current.get("validation"))
    return flag is not None and documents.update(f"{SALES}/{order_id}", {"validation": flag})
