"""Push subscriptions POST to a local HTTP server: wrapper format, retries on 500, no_wrapper."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.pubsub import Emulator, wait_for


class Endpoint:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.calls.append((headers, body))
            return 500 if len(self.calls) <= self.failures else 204


@pytest.fixture
def endpoint() -> Iterator[tuple[str, Endpoint]]:
    state = Endpoint(failures=2)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(state.handle(dict(self.headers), body))
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/push", state
    finally:
        server.shutdown()
        server.server_close()


def test_push_wrapper_with_retries(emulator: Emulator, endpoint: tuple[str, Endpoint]) -> None:
    url, state = endpoint
    topic = emulator.topic()
    sub = emulator.subscription(topic, push_config={"push_endpoint": url})
    message_id = emulator.publisher.publish(topic, b"payload", kind="demo").result(timeout=10)
    assert wait_for(lambda: len(state.calls) >= 3, 10)
    headers, body = state.calls[-1]
    wrapper = json.loads(body)
    assert wrapper["subscription"] == sub
    assert wrapper["deliveryAttempt"] == 3
    message = wrapper["message"]
    assert base64.b64decode(message["data"]) == b"payload"
    assert message["attributes"] == {"kind": "demo"}
    assert message["messageId"] == message["message_id"] == message_id
    assert message["publishTime"] == message["publish_time"] and message["publishTime"].endswith("Z")
    assert [json.loads(b)["message"]["messageId"] for _, b in state.calls] == [message_id] * 3
    # acked by the 204: never delivered again
    assert not wait_for(lambda: len(state.calls) > 3, 1.0)


def test_push_no_wrapper(emulator: Emulator, endpoint: tuple[str, Endpoint]) -> None:
    url, state = endpoint
    state.failures = 0
    topic = emulator.topic()
    emulator.subscription(topic, push_config={"push_endpoint": url, "no_wrapper": {"write_metadata": True}})
    message_id = emulator.publisher.publish(topic, b"raw-bytes", colour="blue").result(timeout=10)
    assert wait_for(lambda: len(state.calls) == 1, 10)
    headers, body = state.calls[0]
    assert body == b"raw-bytes"
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["colour"] == "blue" and lowered["x-goog-pubsub-message-id"] == message_id
