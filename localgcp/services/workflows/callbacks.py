"""Callback endpoints (``events.create_callback_endpoint`` / ``events.await_callback``).

A ``CallbackHub`` is a small HTTP server on 127.0.0.1 that serves the URLs the real service hands
out, ``/v1/projects/P/locations/L/workflows/W/executions/E/callbacks/ID``. A request with the
endpoint's method is queued for the execution (the real API keeps undelivered callbacks the same
way) and answered 200; a request with another method gets 405, one to an unknown endpoint or to a
finished execution 404. ``await_callback`` takes the oldest queued request, waiting for one up to
its timeout.

The Workflows service runs one hub beside its gRPC port; an ``Execution`` run on its own (tests,
``rillflow workflows run``) uses a process-wide hub started on first use.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from localgcp.services.workflows.signals import Cancelled

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")
_POLL_S = 0.05  # how often a waiter looks at its cancel flag


@dataclass
class _Endpoint:
    method: str
    execution: str
    queue: deque[dict[str, Any]] = field(default_factory=deque)


def _body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if "json" in content_type.lower():
        try:
            return json.loads(raw)
        except ValueError:
            pass
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw


class CallbackHub:
    """Callback endpoints of executions, served over HTTP on ``host``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self._endpoints: dict[str, _Endpoint] = {}
        self._cond = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        with self._starting:
            if self._server is None:
                self._serve()

    def _serve(self) -> None:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                code = hub.deliver(self.command, self.path, dict(self.headers.items()), raw)
                data = b"" if code == 200 else json.dumps({"error": {"code": code}}).encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                if data:
                    self.send_header("Content-Type", "application/json")
                self.end_headers()
                if data and self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _handle  # noqa: N815

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="wf-callbacks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = self._thread = None
        with self._cond:
            self._endpoints.clear()
            self._cond.notify_all()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- endpoints ----------------------------------------------------------------------------
    def create(self, execution: str, method: str) -> str:
        """A new endpoint of ``execution`` (``projects/P/locations/L/workflows/W/executions/E``)
        that accepts ``method``; returns its URL."""
        self.start()
        path = f"/v1/{execution}/callbacks/{uuid.uuid4().hex}"
        with self._cond:
            self._endpoints[path] = _Endpoint(method, execution)
        return self.base_url + path

    def release(self, execution: str) -> None:
        """Close every endpoint of a finished execution."""
        with self._cond:
            for path in [p for p, e in self._endpoints.items() if e.execution == execution]:
                del self._endpoints[path]
            self._cond.notify_all()

    def knows(self, url: str) -> bool:
        with self._cond:
            return self._path(url) in self._endpoints

    def _path(self, url: str) -> str:
        parts = urlsplit(url)
        return parts.path if parts.netloc == f"{self.host}:{self.port}" else ""

    def deliver(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> int:
        """Take an HTTP request to a callback URL; returns the status to answer with."""
        parts = urlsplit(target)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        request = {
            "http_request": {
                "body": _body(raw, content_type),
                "headers": headers,
                "method": method,
                "query": {k: v for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                "url": target,
            },
            "received_time": datetime.now(UTC).isoformat(),
            "type": "HTTP",
        }
        with self._cond:
            endpoint = self._endpoints.get(parts.path)
            if endpoint is None:
                return 404
            if method != endpoint.method:
                return 405
            endpoint.queue.append(request)
            self._cond.notify_all()
        return 200

    def await_request(self, url: str, timeout_s: float, cancel: threading.Event) -> dict[str, Any] | None:
        """The oldest request received at ``url``, waiting up to ``timeout_s`` real seconds;
        None on timeout. Raises ``KeyError`` for an unknown endpoint, ``Cancelled`` on cancel."""
        path = self._path(url)
        deadline = _now() + max(0.0, timeout_s)
        with self._cond:
            while True:
                endpoint = self._endpoints.get(path)
                if endpoint is None:
                    raise KeyError(url)
                if endpoint.queue:
                    return endpoint.queue.popleft()
                if cancel.is_set():
                    raise Cancelled()
                left = deadline - _now()
                if left <= 0:
                    return None
                self._cond.wait(min(left, _POLL_S))


def _now() -> float:
    return time.monotonic()


_default: CallbackHub | None = None
_default_lock = threading.Lock()


def default_hub() -> CallbackHub:
    """The process-wide hub of executions that run outside the Workflows service."""
    global _default
    with _default_lock:
        if _default is None:
            _default = CallbackHub()
            _default.start()
        return _default
