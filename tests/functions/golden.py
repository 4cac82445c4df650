"""The golden CloudEvent fixtures in ``data/``: how they are built, and how tests use them.

``python -m tests.functions.golden`` rewrites them; ``test_golden_fixtures`` fails when the
committed files and this builder disagree. Each ``*.json`` holds the CloudEvent attributes
(``attributes``, binary-mode headers without the ``ce-`` prefix) and either the JSON ``data``
or the name of a file with the raw body (``data_file``, protobuf for Firestore).
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from google.events.cloud.firestore import DocumentEventData
from google.events.cloud.firestore_v1.types import DocumentMask
from rillflow_functions import app_events_job
from rillflow_functions import firestore_values as fv

from tests.functions import samples

DATA = Path(__file__).resolve().parent / "data"
PROJECT = "rillflow-local"
LAKE = "rillflow-lake"
FIRESTORE_DATA_SCHEMA = "https://github.com/googleapis/google-cloudevents/blob/main/proto/google/events/cloud/firestore/v1/data.proto"
GOLDEN_DAY = date(2026, 1, 5)
GOLDEN_MINUTE = datetime(2026, 1, 5, 12, 30, tzinfo=UTC)


def firestore_event_body(
    path: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    update_time: datetime,
    mask: list[str] | None = None,
) -> bytes:
    name = f"projects/{PROJECT}/databases/(default)/documents/{path}"
    created = datetime(2026, 1, 5, 0, 0, 1, tzinfo=UTC)
    event = DocumentEventData()
    if new is not None:
        event.value = fv.encode_document(name, new, created, update_time)
    if old is not None:
        event.old_value = fv.encode_document(name, old, created, created)
    if mask:
        event.update_mask = DocumentMask(field_paths=mask)
    return DocumentEventData.pb(event).SerializeToString(deterministic=True)


def firestore_attributes(path: str, event_id: str, time: datetime) -> dict[str, str]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "type": "google.cloud.firestore.document.v1.written",
        "source": f"//firestore.googleapis.com/projects/{PROJECT}/databases/(default)",
        "subject": f"documents/{path}",
        "time": time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "datacontenttype": "application/protobuf",
        "dataschema": FIRESTORE_DATA_SCHEMA,
        "location": "europe-west1",
        "project": PROJECT,
        "database": "(default)",
        "namespace": "(default)",
        "document": path,
    }


def storage_data(
    bucket: str,
    name: str,
    generation: int,
    size: int,
    metadata: dict[str, str] | None = None,
    content_type: str = "application/x-ndjson",
) -> dict[str, Any]:
    """Shaped as Google documents ``StorageObjectData`` (JSON API object resource, int64 as strings)."""
    stamp = "2026-01-06T01:00:04.512Z"
    data: dict[str, Any] = {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{generation}",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}/o/{name.replace('/', '%2F')}",
        "name": name,
        "bucket": bucket,
        "generation": str(generation),
        "metageneration": "1",
        "contentType": content_type,
        "timeCreated": stamp,
        "updated": stamp,
        "storageClass": "STANDARD",
        "timeStorageClassUpdated": stamp,
        "size": str(size),
        "md5Hash": "mY0OgRiBq1x0HdtJ3qf0Zg==",
        "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{bucket}/o/{name.replace('/', '%2F')}?generation={generation}&alt=media",
        "crc32c": "kcKQ3w==",
        "etag": "CJ3k7NXc2ooDEAE=",
    }
    if metadata:
        data["metadata"] = dict(metadata)
    return data


def storage_attributes(bucket: str, name: str, generation: int) -> dict[str, str]:
    return {
        "specversion": "1.0",
        "id": f"{generation}-finalize",
        "type": "google.cloud.storage.object.v1.finalized",
        "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
        "subject": f"objects/{name}",
        "time": "2026-01-06T01:00:04.512Z",
        "datacontenttype": "application/json",
        "bucket": bucket,
    }


def build_all() -> dict[str, bytes]:
    """Every fixture file, by name."""
    day = GOLDEN_DAY
    path = "sales/SO-20260105-00001"
    new = samples.order(day, 1)
    old = copy.deepcopy(new)
    old["items"][0]["quantity"] = 1
    updated = datetime(2026, 1, 5, 0, 7, 2, tzinfo=UTC)
    fs = {
        "attributes": firestore_attributes(path, "fs-evt-0001", updated),
        "data_file": "firestore_document_written.pb",
    }

    name = "bronze/clickstream/dt=2026-01-05/part-00000.jsonl"
    gcs = {
        "attributes": storage_attributes(LAKE, name, 1767661204512000),
        "data": storage_data(LAKE, name, 1767661204512000, 9000, {"rows": "20"}),
    }

    events = [samples.app_event(n, GOLDEN_MINUTE.replace(second=n)) for n in range(3)]
    payload, attrs = app_events_job.build_messages(events, GOLDEN_MINUTE, 0, 1)[0]
    ps = {
        "attributes": {
            "specversion": "1.0",
            "id": "9876543210",
            "type": "google.cloud.pubsub.topic.v1.messagePublished",
            "source": f"//pubsub.googleapis.com/projects/{PROJECT}/topics/app-events",
            "time": "2026-01-05T12:31:00.250Z",
            "datacontenttype": "application/json",
        },
        "data": {
            "message": {
                "data": base64.b64encode(payload).decode(),
                "attributes": dict(attrs),
                "messageId": "9876543210",
                "publishTime": "2026-01-05T12:31:00.250Z",
            },
            "subscription": f"projects/{PROJECT}/subscriptions/app-events-push",
        },
    }

    def dump(obj: Any) -> bytes:
        return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()

    return {
        "firestore_document_written.json": dump(fs),
        "firestore_document_written.pb": firestore_event_body(path, old, new, updated, ["items"]),
        "storage_object_finalized.json": dump(gcs),
        "pubsub_message_published.json": dump(ps),
    }


def load(name: str) -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads((DATA / name).read_text())
    if "data_file" in fixture:
        fixture["body"] = (DATA / fixture["data_file"]).read_bytes()
    else:
        fixture["body"] = json.dumps(fixture["data"]).encode()
    return fixture


if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    for filename, content in build_all().items():
        (DATA / filename).write_bytes(content)
        print("wrote", DATA / filename)
