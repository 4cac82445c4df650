"""Pipeline alerts: the daily workflow publishes failures to the ``alerts`` topic; this keeps
each one as ``pipeline_alerts/{messageId}`` so operators (and the dashboards) can see them.

Pub/Sub delivers at least once: the message id is the document id and the write is
create-if-absent, so a redelivery records nothing new.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from rillflow_functions.ports import DocumentStore

ALERTS = "pipeline_alerts"


def alert_record(message: dict[str, Any], subscription: str) -> dict[str, Any]:
    """The stored form of one Pub/Sub message (``MessagePublishedData.message`` as JSON)."""
    raw = base64.b64decode(message.get("data") or b"")
    try:
        payload: Any = json.loads(raw)
        parsed = True
    except (UnicodeDecodeError, json.JSONDecodeError):
        payload, parsed = raw.decode("utf-8", errors="replace"), False
    attributes = dict(message.get("attributes") or {})
    return {
        "message_id": str(message.get("messageId") or message.get("message_id") or ""),
        "published_at": message.get("publishTime") or message.get("publish_time"),
        "severity": attributes.get("severity", "ERROR"),
        "attributes": attributes,
        "payload": payload,
        "payload_is_json": parsed,
        "subscription": subscription,
    }


def record_alert(documents: DocumentStore, data: dict[str, Any]) -> dict[str, Any]:
    message = data.get("message") or {}
    record = alert_record(message, str(data.get("subscription", "")))
    if not record["message_id"]:
        raise ValueError("a Pub/Sub message without a messageId cannot be recorded idempotently")
    created = documents.create(f"{ALERTS}/{record['message_id']}", record)
    return {"message_id": record["message_id"], "action": "recorded" if created else "duplicate"}
