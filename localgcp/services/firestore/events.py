"""Document-change CloudEvents shaped as Eventarc delivers them for Firestore triggers.

Each changed document yields ``google.cloud.firestore.document.v1.written`` and one of
``...created`` / ``...updated`` / ``...deleted``; the body is a serialized
``google.events.cloud.firestore.v1.DocumentEventData`` (wire-compatible with the
``google.firestore.v1.Document`` the store keeps, so documents are copied as bytes).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from cloudevents.http import CloudEvent
from google.events.cloud.firestore import DocumentEventData

from localgcp.services.firestore.writes import DocumentChange

EVENT_PREFIX = "google.cloud.firestore.document.v1."
DATASCHEMA = "https://github.com/googleapis/google-cloudevents/blob/main/proto/google/events/cloud/firestore/v1/data.proto"
_EventData = DocumentEventData.pb()
_SIMPLE_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")


def _quote(segment: str) -> str:
    if _SIMPLE_SEGMENT.match(segment):
        return segment
    return "`" + segment.replace("\\", "\\\\").replace("`", "\\`") + "`"


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Field paths whose values differ, descending into maps present on both sides."""
    paths: list[str] = []
    for key in sorted(set(old) | set(new)):
        path = prefix + _quote(key)
        a, b = old.get(key), new.get(key)
        if a is not None and b is not None and a == b:
            continue
        both_maps = (
            a is not None
            and b is not None
            and a.WhichOneof("value_type") == "map_value"
            and b.WhichOneof("value_type") == "map_value"
        )
        if both_maps:
            paths.extend(changed_paths(a.map_value.fields, b.map_value.fields, path + "."))
        else:
            paths.append(path)
    return paths


def event_time(commit_us: int) -> str:
    """RFC 3339 UTC with microseconds, as Eventarc writes ``time``."""
    when = datetime.fromtimestamp(commit_us / 1_000_000, tz=UTC).isoformat(timespec="microseconds")
    return when.replace("+00:00", "Z")


def change_events(change: DocumentChange, when: str, location: str) -> list[CloudEvent]:
    parts = change.name.split("/")
    project, database, path = parts[1], parts[3], "/".join(parts[5:])
    data = _EventData()
    if change.new is not None:
        data.value.MergeFromString(change.new.SerializeToString())
    if change.old is not None:
        data.old_value.MergeFromString(change.old.SerializeToString())
    if change.old is None:
        kind = "created"
    elif change.new is None:
        kind = "deleted"
    else:
        kind = "updated"
        data.update_mask.field_paths.extend(changed_paths(change.old.fields, change.new.fields))
    body = data.SerializeToString()
    events = []
    for event_type in ("written", kind):
        attributes = {
            "specversion": "1.0",
            "type": EVENT_PREFIX + event_type,
            "source": f"//firestore.googleapis.com/projects/{project}/databases/{database}",
            "subject": f"documents/{path}",
            "id": str(uuid.uuid4()),
            "time": when,
            "datacontenttype": "application/protobuf",
            "dataschema": DATASCHEMA,
            "project": project,
            "database": database,
            "namespace": "(default)",
            "document": path,
            "location": location,
        }
        events.append(CloudEvent(attributes, body))
    return events
