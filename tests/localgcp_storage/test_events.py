"""Object changes become the CloudEvents Eventarc delivers (shape checked against a golden fixture)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from google.events.cloud.storage_v1 import StorageObjectData

from localgcp.services.storage.bridge import notification_to_cloudevent, object_etag
from localgcp.services.storage.errors import NotificationError
from tests.support.gcs import Running, event_data, finalized

GOLDEN = json.loads((Path(__file__).parent / "data" / "eventarc_storage_object_finalized.json").read_text())
DELETED = "google.cloud.storage.object.v1.deleted"
METADATA = "google.cloud.storage.object.v1.metadataUpdated"


def _assert_eventarc_shape(event, bucket: str, name: str) -> StorageObjectData:
    attributes = dict(event.get_attributes())
    assert set(attributes) == set(GOLDEN["attributes"])
    assert attributes["specversion"] == "1.0"
    assert attributes["source"] == f"//storage.googleapis.com/projects/_/buckets/{bucket}"
    assert attributes["subject"] == f"objects/{name}"
    assert attributes["bucket"] == bucket
    assert attributes["datacontenttype"] == "application/json"
    assert re.fullmatch(r"\d+", attributes["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", attributes["time"])
    data = event_data(event)
    assert set(GOLDEN["data"]) <= set(data)
    for key, golden_value in GOLDEN["data"].items():
        assert type(data[key]) is type(golden_value), key
    assert data["id"] == f"{bucket}/{name}/{data['generation']}"
    assert data["kind"] == "storage#object"
    # the documented body parses into the published proto-plus type, every field known
    return StorageObjectData.from_json(json.dumps(data), ignore_unknown_fields=False)


def test_golden_fixture_is_self_consistent() -> None:
    data = GOLDEN["data"]
    assert object_etag(int(data["generation"]), int(data["metageneration"])) == data["etag"]
    parsed = StorageObjectData.from_json(json.dumps(data))
    assert parsed.size == 352 and parsed.name == "folder/Test.cs"


def test_finalize_event_matches_eventarc(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("events")
    blob = bucket.blob("bronze/dt=2024-01-02/part-0.jsonl")
    blob.metadata = {"flow": "clickstream"}
    blob.upload_from_string(b'{"a": 1}\n', content_type="application/x-ndjson")
    event = gcs.wait_for(finalized("events", blob.name, blob.generation))
    assert event["type"] == "google.cloud.storage.object.v1.finalized"
    parsed = _assert_eventarc_shape(event, "events", blob.name)
    assert parsed.generation == blob.generation
    assert parsed.metageneration == 1
    assert parsed.size == 9
    assert parsed.md5_hash == blob.md5_hash and parsed.crc32c == blob.crc32c
    assert parsed.content_type == "application/x-ndjson"
    assert parsed.metadata == {"flow": "clickstream"}
    assert parsed.storage_class == "STANDARD"
    assert event_data(event)["etag"] == object_etag(blob.generation, 1)
    assert event["time"] == event_data(event)["updated"]


def test_delete_and_metadata_update_events(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("events")
    blob = bucket.blob("doc.txt")
    blob.upload_from_string("x")
    gcs.wait_for(finalized("events", "doc.txt"))
    blob.metadata = {"reviewed": "yes"}
    blob.patch()
    updated = gcs.wait_for(lambda e: e["type"] == METADATA)
    assert _assert_eventarc_shape(updated, "events", "doc.txt").metadata == {"reviewed": "yes"}
    bucket.blob("doc.txt").delete()
    deleted = gcs.wait_for(lambda e: e["type"] == DELETED)
    assert _assert_eventarc_shape(deleted, "events", "doc.txt").name == "doc.txt"
    assert len({e["id"] for e in gcs.sink.events}) == len(gcs.sink.events)


def test_copy_and_compose_emit_finalize(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("events")
    bucket.blob("a").upload_from_string("1")
    bucket.blob("b").upload_from_string("2")
    bucket.copy_blob(bucket.blob("a"), bucket, "copied")
    bucket.blob("joined").compose([bucket.blob("a"), bucket.blob("b")])
    gcs.wait_for(finalized("events", "copied"))
    joined = gcs.wait_for(finalized("events", "joined"))
    assert event_data(joined)["size"] == "2"


def test_conversion_is_deterministic_and_rejects_bad_input() -> None:
    attributes = {
        "eventType": "OBJECT_FINALIZE",
        "payloadFormat": "JSON_API_V1",
        "eventTime": "2024-01-01T00:00:00Z",
    }
    payload = {
        "bucket": "b1",
        "name": "n/x",
        "generation": 17,
        "size": "3",
        "updated": "2024-01-01T00:00:00.5Z",
    }
    first = notification_to_cloudevent(
        attributes, json.dumps(payload).encode(), base_url="http://127.0.0.1:1"
    )
    again = notification_to_cloudevent(
        attributes, json.dumps(payload).encode(), base_url="http://127.0.0.1:1"
    )
    assert first["id"] == again["id"]  # redelivery keeps the id: consumers can deduplicate
    assert event_data(first)["generation"] == "17" and event_data(first)["size"] == "3"
    assert event_data(first)["selfLink"] == "http://127.0.0.1:1/storage/v1/b/b1/o/n%2Fx"
    with pytest.raises(NotificationError, match="eventType"):
        notification_to_cloudevent({"eventType": "NOPE"}, b"{}", base_url="")
    with pytest.raises(NotificationError, match="not JSON"):
        notification_to_cloudevent(attributes, b"{oops", base_url="")
    with pytest.raises(NotificationError, match="generation"):
        notification_to_cloudevent(attributes, b'{"bucket": "b", "name": "n"}', base_url="")


def test_a_failing_sink_loses_nothing(gcs: Running) -> None:
    class Broken:
        def emit(self, event) -> None:
            raise RuntimeError("router down")

    object.__setattr__(gcs.service.ctx, "sink", Broken())
    gcs.client.create_bucket("events").blob("x.txt").upload_from_string("x")
    deadline = time.monotonic() + 10
    while not gcs.service.deadletter_path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    record = json.loads(gcs.service.deadletter_path.read_text().splitlines()[0])
    assert record["reason"] == "RuntimeError: router down"
    assert record["attributes"]["eventType"] == "OBJECT_FINALIZE"
    assert json.loads(record["data"])["name"] == "x.txt"
