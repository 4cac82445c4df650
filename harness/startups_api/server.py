"""HTTP front of :class:`StartupsApi` on 127.0.0.1 (stdlib ThreadingHTTPServer)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.startups_api.app import StartupsApi
from rillflow.generators.startups import StartupUniverse
from rillflow.settings import LOOPBACK


def _handler_for(api: StartupsApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            response = api.handle(self.command, self.path, dict(self.headers.items()), body)
            payload = json.dumps(response.body).encode()
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return  # quiet: the caller logs what matters

    return Handler


class StartupsApiServer:
    """A started/stoppable server; ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, api: StartupsApi, host: str = LOOPBACK, port: int = 0) -> None:
        if host not in (LOOPBACK, "localhost"):
            raise ValueError("the startups API binds to loopback only")
        self.api = api
        self._httpd = ThreadingHTTPServer((LOOPBACK, port), _handler_for(api))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StartupsApiServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="startups-api",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()


def serve(
    host: str = LOOPBACK,
    port: int = 0,
    universe: StartupUniverse | None = None,
    api_keys: Iterable[str] = ("local-dev-key",),
    rate_per_s: float = 50.0,
    burst: int = 100,
    failure_rate: float = 0.0,
    seed: int = 0,
    now: datetime | None = None,
) -> StartupsApiServer:
    """Build the API over ``universe`` (a fresh one of ``seed`` if None) and its server (call ``start()``)."""
    api = StartupsApi(
        universe or StartupUniverse(seed), api_keys, rate_per_s, burst, failure_rate, seed, now=now
    )
    return StartupsApiServer(api, host, port)
