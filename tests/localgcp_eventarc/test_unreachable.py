"""A function whose process is being restarted cannot be reached for a moment: the router keeps
retrying it for ``unavailable_grace_s`` without spending the delivery's attempts (Eventarc retries
a 503 from Cloud Run while it replaces an instance), and dead-letters it once the grace is over."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cloudevents.http import CloudEvent

from harness.triggers import load_declaration
from localgcp.services.eventarc.router import EventRouter

#: starts HTTP servers on loopback ports that stand in for function instances
pytestmark = pytest.mark.service


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _event() -> CloudEvent:
    return CloudEvent(
        {
            "type": "google.cloud.storage.object.v1.finalized",
            "source": "//storage.googleapis.com/projects/_/buckets/lake",
            "subject": "objects/bronze/a.jsonl",
            "bucket": "lake",
            "datacontenttype": "application/json",
        },
        {"bucket": "lake", "name": "bronze/a.jsonl", "generation": "1"},
    )


@pytest.fixture
def late_endpoint() -> Iterator[tuple[int, list[bytes], threading.Event]]:
    """A port nobody listens on yet; ``start`` opens it (as a restarted function process would)."""
    port = _free_port()
    received: list[bytes] = []
    start = threading.Event()
    servers: list[ThreadingHTTPServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    def serve_when_started() -> None:
        if start.wait(30):
            server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
            servers.append(server)
            server.serve_forever()

    threading.Thread(target=serve_when_started, daemon=True).start()
    yield port, received, start
    start.set()
    for server in servers:
        server.shutdown()


def test_an_unreachable_function_is_retried_through_the_grace_without_spending_attempts(
    late_endpoint: tuple[int, list[bytes], threading.Event], tmp_path: Path
) -> None:
    port, received, start = late_endpoint
    router = EventRouter(
        load_declaration({"lake_bucket": "lake"}),
        lambda fn: f"http://127.0.0.1:{port}/",
        tmp_path / "dl.jsonl",
        max_attempts=2,
        initial_backoff_s=0.02,
        unavailable_grace_s=30,
    )
    try:
        router.emit(_event())
        time.sleep(1.0)  # many refused tries: far more than max_attempts
        assert router.stats.unreachable > 2 and router.stats.dead_lettered == 0
        start.set()
        assert router.wait_idle(20)
    finally:
        router.stop()
    assert router.stats.delivered == 1 and len(received) == 1
    assert not (tmp_path / "dl.jsonl").exists()


def test_past_the_grace_an_unreachable_function_is_dead_lettered(tmp_path: Path) -> None:
    router = EventRouter(
        load_declaration({"lake_bucket": "lake"}),
        lambda fn: f"http://127.0.0.1:{_free_port()}/",
        tmp_path / "dl.jsonl",
        max_attempts=2,
        initial_backoff_s=0.02,
        unavailable_grace_s=0.3,
    )
    try:
        router.emit(_event())
        assert router.wait_idle(20)
    finally:
        router.stop()
    assert router.stats.dead_lettered == 1 and router.stats.unreachable > 0
    assert "unreachable: ConnectionError" in (tmp_path / "dl.jsonl").read_text()
