"""``googleapis.firestore.v1.projects.databases.documents.{patch,get}`` against the local Firestore.

Connector arguments and answers use Firestore's REST JSON (``{"fields": {"x": {"stringValue": ..}}}``);
this module converts them to and from the official client's values.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from google.cloud import firestore  # type: ignore[attr-defined]

PREFIX = "googleapis.firestore.v1.projects.databases.documents"


def from_rest_value(value: dict[str, Any]) -> Any:
    ((kind, raw),) = value.items()
    if kind == "nullValue":
        return None
    if kind in ("stringValue", "booleanValue", "referenceValue"):
        return raw
    if kind == "integerValue":
        return int(raw)
    if kind == "doubleValue":
        return float(raw)
    if kind == "timestampValue":
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    if kind == "bytesValue":
        return base64.b64decode(raw)
    if kind == "mapValue":
        return {k: from_rest_value(v) for k, v in (raw.get("fields") or {}).items()}
    if kind == "arrayValue":
        return [from_rest_value(v) for v in (raw.get("values") or [])]
    raise ValueError(f"unsupported Firestore REST value kind {kind!r}")


def to_rest_value(value: Any) -> dict[str, Any]:
    if value is None:
        return {"nullValue": None}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"integerValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, datetime):
        return {"timestampValue": value.astimezone(UTC).isoformat().replace("+00:00", "Z")}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {"mapValue": {"fields": {k: to_rest_value(v) for k, v in value.items()}}}
    if isinstance(value, list):
        return {"arrayValue": {"values": [to_rest_value(v) for v in value]}}
    raise TypeError(f"cannot express {type(value).__name__} as a Firestore REST value")


def _document_path(name: str) -> tuple[str, str]:
    """``projects/P/databases/(default)/documents/a/b`` → (project, ``a/b``)."""
    parts = name.split("/documents/", 1)
    if len(parts) != 2 or not name.startswith("projects/"):
        raise ValueError(f"not a Firestore document name: {name!r}")
    return parts[0].split("/")[1], parts[1]


def _document_json(name: str, snapshot: Any) -> dict[str, Any]:
    data = snapshot.to_dict() or {}
    return {
        "name": name,
        "fields": {k: to_rest_value(v) for k, v in data.items()},
        "createTime": snapshot.create_time.isoformat() if snapshot.create_time else None,
        "updateTime": snapshot.update_time.isoformat() if snapshot.update_time else None,
    }


def patch(args: dict[str, Any]) -> dict[str, Any]:
    """Without ``updateMask`` the REST patch replaces the document's fields; with it, only those paths."""
    name = args["name"]
    project, path = _document_path(name)
    fields = {k: from_rest_value(v) for k, v in (args.get("body", {}).get("fields") or {}).items()}
    ref = firestore.Client(project=project).document(path)
    mask = (
        (args.get("updateMask") or {}).get("fieldPaths") if isinstance(args.get("updateMask"), dict) else None
    )
    if mask:
        ref.set({k: fields.get(k) for k in mask}, merge=True)
    else:
        ref.set(fields)
    return _document_json(name, ref.get())


def get(args: dict[str, Any]) -> dict[str, Any]:
    name = args["name"]
    project, path = _document_path(name)
    snapshot = firestore.Client(project=project).document(path).get()
    if not snapshot.exists:
        from localgcp.services.workflows import errors

        raise errors.make("HttpError", f"document {name} not found", code=404)
    return _document_json(name, snapshot)
