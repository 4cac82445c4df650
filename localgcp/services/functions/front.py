"""What Cloud Run does in front of a function before a request reaches it, locally: check the
caller's ID token (:mod:`localgcp.services.functions.oidc`), hold the request while the instance
is (re)started, then forward it.

Each function's URL is its front's port; functions-framework listens on a private port behind it.
A request without a valid token for the function's URL is refused with 401, one from a caller
without ``run.invoker`` with 403, as Cloud Run does. While nothing listens behind (the function's
process died and its supervisor starts it again) the request waits up to ``hold_s`` — Cloud Run
queues requests while it starts an instance — and gets 503 past that, or when the instance dies
with the request.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from localgcp.services.base import LOOPBACK
from localgcp.services.functions.oidc import Issuer, Refused

#: headers that belong to one hop, not forwarded
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"})


class Front:
    def __init__(
        self,
        port: int,
        backend_port: int,
        issuer: Issuer,
        invokers: frozenset[str] | None,
        *,
        hold_s: float = 120.0,
        timeout_s: float = 3600.0,
    ) -> None:
        self.url = f"http://{LOOPBACK}:{port}/"
        self.backend_port = backend_port
        self.issuer = issuer
        self.invokers = invokers
        self.hold_s = hold_s
        self.timeout_s = timeout_s
        #: requests refused (no valid token, not an invoker) and requests forwarded to the function
        self.refused = 0
        self.forwarded = 0
        #: requests the function is working on now (what a crash drill kills it in the middle of)
        self.in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((LOOPBACK, port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"front-{port}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    front.issuer.verify(self.headers.get("Authorization"), front.url, front.invokers)
                except Refused as exc:
                    front.refused += 1
                    self._send(
                        exc.status,
                        [("Content-Type", "application/json")],
                        json.dumps({"error": str(exc)}).encode(),
                    )
                    return
                front.forwarded += 1
                status, headers, payload = front.forward(
                    self.command, self.path, list(self.headers.items()), body
                )
                self._send(status, headers, payload)

            def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815 - http.server API

            def log_message(self, *args: object) -> None:
                return None

        return Handler

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request to the function, holding it while nothing listens (see the module doc)."""
        deadline = time.monotonic() + self.hold_s
        while True:
            conn = http.client.HTTPConnection(LOOPBACK, self.backend_port, timeout=self.timeout_s)
            try:
                conn.connect()
            except ConnectionRefusedError:
                conn.close()
                if time.monotonic() > deadline:
                    return 503, [], b"the function's instance is not available"
                time.sleep(0.05)
                continue
            try:
                conn.request(
                    method, path, body=body, headers={k: v for k, v in headers if k.lower() not in HOP_BY_HOP}
                )
                resp = conn.getresponse()
                return resp.status, resp.getheaders(), resp.read()
            except (ConnectionError, http.client.HTTPException) as exc:  # the instance died with it
                return 503, [], f"the function's instance failed: {type(exc).__name__}".encode()
            finally:
                conn.close()
