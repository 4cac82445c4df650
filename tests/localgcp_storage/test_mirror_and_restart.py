"""Objects are plain files at Settings.bucket_dir(bucket)/<name>, and survive a restart."""

from __future__ import annotations

import hashlib
import json
import os
import threading

import pytest
from cloudevents.http import CloudEvent
from google.api_core import exceptions

from localgcp.services.base import ServiceContext
from localgcp.services.storage import StorageService
from rillflow.settings import get_settings
from tests.support.gcs import PROJECT, Running, event_data, finalized, make_client


class FileCheckingSink:
    """Records, at the moment each finalize event arrives, the bytes of the object's plain file."""

    def __init__(self) -> None:
        self.seen: dict[str, bytes | None] = {}
        self.arrived = threading.Event()

    def emit(self, event: CloudEvent) -> None:
        if event["type"].endswith(".finalized"):
            path = get_settings().bucket_dir(event["bucket"]) / event_data(event)["name"]
            self.seen[event_data(event)["name"]] = path.read_bytes() if path.is_file() else None
            self.arrived.set()


def test_plain_file_present_when_finalize_is_emitted_and_gone_after_delete() -> None:
    sink = FileCheckingSink()
    service = StorageService(ServiceContext("127.0.0.1", 0, get_settings().home / "storage", PROJECT, sink))
    service.start()
    try:
        client = make_client(service)
        payload = os.urandom(300_000)
        blob = client.create_bucket("lake").blob("bronze/sales/dt=2024-05-01/part-0.parquet")
        blob.upload_from_string(payload)
        assert sink.arrived.wait(10)
        assert sink.seen[blob.name] == payload  # identical bytes already there when the event fired
        path = get_settings().bucket_dir("lake") / "bronze" / "sales" / "dt=2024-05-01" / "part-0.parquet"
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(payload).digest()
        assert not [p for p in path.parent.iterdir() if p.name != path.name]  # no sidecars / temp files
        blob.delete()
        assert not path.exists()
    finally:
        service.stop()


def test_restart_keeps_buckets_objects_and_generations(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("durable")
    blob = bucket.blob("keep/me.json")
    blob.metadata = {"k": "v"}
    blob.upload_from_string(json.dumps({"x": 1}), content_type="application/json")
    generation = blob.generation
    address = gcs.service.address
    gcs.restart()
    assert gcs.service.address == address  # same port after restart: clients keep working
    again = gcs.client.get_bucket("durable").get_blob("keep/me.json")
    assert again is not None
    assert again.generation == generation and again.metadata == {"k": "v"}
    assert again.content_type == "application/json"
    assert json.loads(again.download_as_bytes()) == {"x": 1}
    assert {b.name for b in gcs.client.list_buckets()} >= {"durable"}
    # and the create-only idiom still sees it
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("keep/me.json").upload_from_string("other", if_generation_match=0)
    gcs.wait_for(finalized("durable", "keep/me.json", generation))


def test_files_dropped_into_the_mirror_are_not_objects_but_names_must_fit_the_layout(gcs: Running) -> None:
    bucket = gcs.client.create_bucket("layout")
    bucket.blob("a/b.txt").upload_from_string("1")
    with pytest.raises(exceptions.Conflict):
        bucket.blob("a").upload_from_string("file where a directory is")
    with pytest.raises(exceptions.BadRequest):
        bucket.blob("folder/").upload_from_string("")
    assert [b.name for b in gcs.client.list_blobs("layout")] == ["a/b.txt"]
