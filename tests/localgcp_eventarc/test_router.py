"""The local Eventarc: trigger matching, binary-mode delivery, retries and dead letters."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent

from harness.triggers import load_declaration
from localgcp.services.eventarc.router import EventRouter
from localgcp.services.eventarc.triggers import path_matches


class _Recorder:
    def __init__(self, failures_before_success: int = 0, status: int = 500) -> None:
        self.failures_left = failures_before_success
        self.status = status
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()


@pytest.fixture
def endpoint() -> Iterator[tuple[str, _Recorder]]:
    recorder = _Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with recorder.lock:
                recorder.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                fail = recorder.failures_left > 0
                if fail:
                    recorder.failures_left -= 1
            self.send_response(recorder.status if fail else 204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", recorder
    server.shutdown()


def _gcs_event(bucket: str, name: str) -> CloudEvent:
    return CloudEvent(
        {
            "type": "google.cloud.storage.object.v1.finalized",
            "source": f"//storage.googleapis.com/projects/_/buckets/{bucket}",
            "subject": f"objects/{name}",
            "bucket": bucket,
            "datacontenttype": "application/json",
        },
        {"bucket": bucket, "name": name, "generation": "1"},
    )


def _firestore_event(path: str) -> CloudEvent:
    return CloudEvent(
        {
            "type": "google.cloud.firestore.document.v1.written",
            "source": "//firestore.googleapis.com/projects/p/databases/(default)",
            "subject": f"documents/{path}",
            "database": "(default)",
            "document": path,
            "datacontenttype": "application/protobuf",
        },
        b"\x0a\x00",
    )


def test_path_patterns_follow_eventarc() -> None:
    assert path_matches("sales/{order_id}", "sales/o-1")
    assert not path_matches("sales/{order_id}", "sales/o-1/lines/2")
    assert not path_matches("sales/{order_id}", "sales_ledger/2026-01-01")
    assert path_matches("sales/{doc=**}", "sales/o-1/lines/2")
    assert path_matches("users/*/orders/{o}", "users/u1/orders/o9")


def test_declaration_matches_by_type_filter_and_path() -> None:
    decl = load_declaration({"lake_bucket": "lake"})
    assert [t.function for t in decl.triggers_for(_gcs_event("lake", "bronze/x.jsonl"))] == [
        "on_bronze_object_finalized"
    ]
    assert decl.triggers_for(_gcs_event("other-bucket", "bronze/x.jsonl")) == []
    assert [t.function for t in decl.triggers_for(_firestore_event("sales/o-1"))] == ["on_sale_written"]
    assert decl.triggers_for(_firestore_event("sales_ledger/2026-01-01")) == []
    assert "publish_app_events" in decl.functions


def test_delivers_binary_cloudevents(endpoint: tuple[str, _Recorder], tmp_path: Path) -> None:
    url, rec = endpoint
    router = EventRouter(
        load_declaration({"lake_bucket": "lake"}), lambda fn: f"{url}/{fn}", tmp_path / "dl.jsonl"
    )
    try:
        router.emit(_firestore_event("sales/o-1"))
        router.emit(_gcs_event("lake", "bronze/clickstream/dt=2026-01-01/part-00000.jsonl"))
        router.emit(_gcs_event("elsewhere", "x"))
        assert router.wait_idle(10)
    finally:
        router.stop()
    by_type = {h["ce-type"]: (h, body) for h, body in rec.requests}
    fs_headers, fs_body = by_type["google.cloud.firestore.document.v1.written"]
    assert fs_headers["content-type"] == "application/protobuf"
    assert fs_headers["ce-document"] == "sales/o-1"
    assert fs_body == b"\x0a\x00"
    gcs_headers, gcs_body = by_type["google.cloud.storage.object.v1.finalized"]
    assert gcs_headers["ce-subject"].startswith("objects/bronze/")
    assert json.loads(gcs_body)["bucket"] == "lake"
    assert router.stats.delivered == 2 and router.stats.unmatched == 1


def test_retries_then_succeeds(endpoint: tuple[str, _Recorder], tmp_path: Path) -> None:
    url, rec = endpoint
    rec.failures_left = 2
    router = EventRouter(
        load_declaration({"lake_bucket": "lake"}),
        lambda fn: url,
        tmp_path / "dl.jsonl",
        initial_backoff_s=0.01,
    )
    try:
        router.emit(_gcs_event("lake", "bronze/a.jsonl"))
        assert router.wait_idle(10)
    finally:
        router.stop()
    assert len(rec.requests) == 3
    assert len({h["ce-id"] for h, _ in rec.requests}) == 1, "a retry redelivers the same event id"
    assert router.stats.retried == 2 and router.stats.delivered == 1
    assert not (tmp_path / "dl.jsonl").exists()


def test_dead_letters_after_max_attempts(endpoint: tuple[str, _Recorder], tmp_path: Path) -> None:
    url, rec = endpoint
    rec.failures_left = 100
    dl = tmp_path / "dl.jsonl"
    router = EventRouter(
        load_declaration({"lake_bucket": "lake"}), lambda fn: url, dl, max_attempts=3, initial_backoff_s=0.01
    )
    try:
        router.emit(_gcs_event("lake", "bronze/a.jsonl"))
        assert router.wait_idle(10)
    finally:
        router.stop()
    assert len(rec.requests) == 3
    (line,) = dl.read_text().splitlines()
    record = json.loads(line)
    assert record["function"] == "on_bronze_object_finalized"
    assert record["attempts"] == 3 and "HTTP 500" in record["error"]
    assert record["attributes"]["subject"] == "objects/bronze/a.jsonl"


def test_connection_refused_is_retried_and_dead_lettered(tmp_path: Path) -> None:
    router = EventRouter(
        load_declaration({"lake_bucket": "lake"}),
        lambda fn: "http://127.0.0.1:9",
        tmp_path / "dl.jsonl",
        max_attempts=2,
        initial_backoff_s=0.01,
        timeout_s=2,
    )
    try:
        router.emit(_gcs_event("lake", "bronze/a.jsonl"))
        assert router.wait_idle(10)
    finally:
        router.stop()
    assert router.stats.dead_lettered == 1
    assert "ConnectionError" in (tmp_path / "dl.jsonl").read_text()


def test_pubsub_push_becomes_a_message_published_event(
    endpoint: tuple[str, _Recorder], tmp_path: Path
) -> None:
    import base64

    import requests

    from localgcp.services.eventarc.pubsub_push import PubSubIngress

    url, rec = endpoint
    decl = load_declaration({"lake_bucket": "lake"})
    (trigger,) = decl.pubsub_triggers
    assert trigger.function == "on_pipeline_alert" and trigger.topic == "alerts"
    router = EventRouter(decl, lambda fn: f"{url}/{fn}", tmp_path / "dl.jsonl")
    ingress = PubSubIngress(router, decl.pubsub_triggers, "proj")
    ingress.start()
    try:
        push = {
            "message": {
                "data": base64.b64encode(b'{"error": "x"}').decode(),
                "attributes": {"severity": "ERROR"},
                "messageId": "42",
                "publishTime": "2026-01-05T02:00:00Z",
            },
            "subscription": "projects/proj/subscriptions/eventarc-on-pipeline-alert",
        }
        assert requests.post(ingress.endpoint(trigger), json=push, timeout=10).status_code == 204
        assert requests.post(ingress.endpoint(trigger), json={"message": {}}, timeout=10).status_code == 400
        assert router.wait_idle(10)
    finally:
        ingress.stop()
        router.stop()
    ((headers, body),) = rec.requests
    assert headers["ce-type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert headers["ce-source"] == "//pubsub.googleapis.com/projects/proj/topics/alerts"
    assert headers["ce-id"] == "42"
    data = json.loads(body)
    assert data["subscription"].endswith("eventarc-on-pipeline-alert")
    assert base64.b64decode(data["message"]["data"]) == b'{"error": "x"}'


def test_pubsub_triggers_never_match_storage_or_firestore_events() -> None:
    decl = load_declaration({"lake_bucket": "lake"})
    assert all(t.function != "on_pipeline_alert" for t in decl.triggers_for(_gcs_event("lake", "x")))
