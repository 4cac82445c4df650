"""``copies``: every event delivered that many times, as separate deliveries (the duplicates drill)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.triggers import load_declaration
from localgcp.services.eventarc.router import COPIES_ENV, JITTER_ENV, SEED_ENV, EventRouter
from tests.localgcp_eventarc.test_unreachable import _event


class _Recorder(BaseHTTPRequestHandler):
    """A function endpoint that records the ``ce-id`` of every delivery it answers."""

    ids: list[str]
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.lock:
            self.ids.append(self.headers["ce-id"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@contextmanager
def _function() -> Iterator[tuple[str, list[str]]]:
    """A recording endpoint on 127.0.0.1: its URL and the ids it received, in arrival order."""
    ids: list[str] = []
    handler = type("Handler", (_Recorder,), {"ids": ids})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", ids
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("copies", [1, 2, 3])
def test_every_event_is_delivered_copies_times(
    tmp_path: Path, copies: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(COPIES_ENV, str(copies))  # the default a stack's router takes
    with _function() as (url, ids):
        router = EventRouter(load_declaration({"lake_bucket": "lake"}), lambda fn: url, tmp_path / "dl.jsonl")
        try:
            first, second = _event(), _event()
            router.emit(first)
            router.emit(second)
            assert router.wait_idle(20)
        finally:
            router.stop()
    assert sorted(ids) == sorted([first["id"]] * copies + [second["id"]] * copies)
    assert router.stats.delivered == 2 * copies and router.stats.received == 2


def test_jitter_delivers_events_out_of_the_order_they_happened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eventarc promises no order: with ``jitter_s`` deliveries are held back at random (seeded),
    so a later event reaches the function first; each still arrives exactly ``copies`` times."""
    monkeypatch.setenv(JITTER_ENV, "0.3")
    monkeypatch.setenv(SEED_ENV, "7")
    with _function() as (url, ids):
        router = EventRouter(
            load_declaration({"lake_bucket": "lake"}), lambda fn: url, tmp_path / "dl.jsonl", workers=1
        )
        try:
            events = [_event() for _ in range(20)]
            for event in events:
                router.emit(event)
            assert router.wait_idle(30)
        finally:
            router.stop()
    sent = [e["id"] for e in events]
    assert sorted(ids) == sorted(sent) and ids != sent
