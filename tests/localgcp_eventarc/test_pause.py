"""Pausing event triggers (what a backfill does around its bulk loads) and resuming them."""

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


@pytest.fixture
def delivered() -> Iterator[tuple[str, list[str]]]:
    subjects: list[str] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                subjects.append(self.headers["ce-subject"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", subjects
    server.shutdown()


def _finalized(name: str) -> CloudEvent:
    return CloudEvent(
        {
            "type": "google.cloud.storage.object.v1.finalized",
            "source": "//storage.googleapis.com/projects/_/buckets/lake",
            "subject": f"objects/{name}",
            "bucket": "lake",
            "datacontenttype": "application/json",
        },
        json.dumps({"bucket": "lake", "name": name, "generation": "1"}),
    )


def test_a_paused_trigger_gets_nothing_until_resumed(
    delivered: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, subjects = delivered
    router = EventRouter(load_declaration({"lake_bucket": "lake"}), lambda fn: url, tmp_path / "dl.jsonl")
    try:
        router.pause(["on-bronze-object-finalized"])
        router.pause(["on-bronze-object-finalized"])  # pauses nest
        router.emit(_finalized("bronze/a.jsonl"))
        router.resume(["on-bronze-object-finalized"])
        router.emit(_finalized("bronze/b.jsonl"))
        assert router.wait_idle(10)
        assert subjects == [] and router.paused_triggers == ["on-bronze-object-finalized"]
        router.resume(["on-bronze-object-finalized"])
        router.emit(_finalized("bronze/c.jsonl"))
        assert router.wait_idle(10)
    finally:
        router.stop()
    assert subjects == ["objects/bronze/c.jsonl"]
    assert router.stats.paused == 2 and router.stats.delivered == 1
    assert router.paused_triggers == []


def test_pausing_an_unknown_trigger_is_an_error(tmp_path: Path) -> None:
    router = EventRouter(load_declaration({"lake_bucket": "lake"}), lambda fn: "", tmp_path / "dl.jsonl")
    try:
        with pytest.raises(KeyError, match="no event trigger named"):
            router.pause(["on-something-else"])
        assert router.paused_triggers == []
    finally:
        router.stop()
