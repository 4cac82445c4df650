"""A scheduler job whose function is being restarted: retried while it cannot be reached (within
the grace), then fired once it listens; past the grace the connection error is raised."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from localgcp.services.eventarc.triggers import Schedule
from localgcp.services.scheduler.service import Firing, SchedulerClient

FIRING = Firing(
    datetime(2026, 1, 2, 0, 30, tzinfo=UTC), Schedule("generate-sales-daily", "generate_sales", "30 0 * * *")
)

#: starts an HTTP server on a loopback port that stands in for a function instance
pytestmark = pytest.mark.service


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_job_waits_for_its_restarting_function_and_fires_once() -> None:
    port = _free_port()
    calls: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            calls.append(self.headers["X-CloudScheduler-ScheduleTime"])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    servers: list[ThreadingHTTPServer] = []

    def come_back_later() -> None:
        time.sleep(0.8)
        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        servers.append(server)
        server.serve_forever()

    threading.Thread(target=come_back_later, daemon=True).start()
    client = SchedulerClient(lambda fn: f"http://127.0.0.1:{port}/", "p", "r", backoff_s=0.05)
    try:
        assert client.fire(FIRING).status_code == 200
    finally:
        for server in servers:
            server.shutdown()
    assert calls == ["2026-01-02T00:30:00Z"] and client.unreachable > 0


def test_past_the_grace_the_connection_error_is_raised() -> None:
    port = _free_port()
    client = SchedulerClient(
        lambda fn: f"http://127.0.0.1:{port}/", "p", "r", backoff_s=0.05, unavailable_grace_s=0.3
    )
    with pytest.raises(requests.ConnectionError):
        client.fire(FIRING)
    assert client.unreachable > 0


def test_with_copies_every_tick_is_fired_twice() -> None:
    calls: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server API
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            calls.append(self.headers["X-CloudScheduler-ScheduleTime"])
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = SchedulerClient(
            lambda fn: f"http://127.0.0.1:{server.server_address[1]}/", "p", "r", copies=2
        )
        assert client.fire(FIRING).status_code == 200
    finally:
        server.shutdown()
    assert calls == ["2026-01-02T00:30:00Z"] * 2
