"""A thin HTTP gateway in front of fake-gcs-server that enforces what it does not.

fake-gcs-server 1.54 checks ``ifGenerationMatch`` only on simple and multipart uploads. It ignores
every precondition on resumable uploads (so the create-only idiom ``if_generation_match=0`` silently
overwrites for files uploaded in chunks), on delete, on metadata patch, on copy / rewrite / compose
destinations and on reads; and an object name that collides with the plain-file layout (``a`` and
``a/b``) makes it answer 500, which the official client retries for minutes. The gateway checks
those requests against the object's current generation / metageneration under a per-object lock,
answers 412 ``conditionNotMet`` or 400 like GCS, and otherwise forwards every request unchanged.

While fake-gcs-server is down (killed, and restarted by the storage service's supervisor), a
request waits up to :data:`UPSTREAM_WAIT_S` for it instead of failing: a connection the upstream
refused never reached it, so sending it again is safe. Every acknowledged object write (an upload,
copy, rewrite or compose answered 200) is reported to ``on_object_written`` with its resource, so
the service can emit the finalize notification of a write whose process died before publishing it.
"""

from __future__ import annotations

import email.message
import http.client
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from localgcp.services.storage import mirror

_CONDITIONS = (
    "ifGenerationMatch",
    "ifGenerationNotMatch",
    "ifMetagenerationMatch",
    "ifMetagenerationNotMatch",
)
_SOURCE_CONDITIONS = {f"ifSource{c[2:]}": c for c in _CONDITIONS}
#: how long a request waits for a restarting fake-gcs-server before answering 502
UPSTREAM_WAIT_S = 15.0
_RETRY_PAUSE_S = 0.05
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}


class GatewayReject(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message

    def body(self) -> bytes:
        error = {
            "code": self.status,
            "message": self.message,
            "errors": [{"reason": self.reason, "message": self.message}],
        }
        return json.dumps({"error": error}).encode()


def unmet_condition(conditions: Mapping[str, str], current: Mapping[str, Any] | None) -> str | None:
    """The first precondition ``current`` (the object resource, or None if absent) violates."""
    generation = int(current["generation"]) if current else 0
    metageneration = int(current.get("metageneration") or 1) if current else None
    for key, raw in conditions.items():
        value = int(raw)
        if key == "ifGenerationMatch" and generation != value:
            return f"{key}={value} but the live generation is {generation}"
        if key == "ifGenerationNotMatch" and generation == value:
            return f"{key}={value} matches the live generation"
        if key == "ifMetagenerationMatch" and metageneration is not None and metageneration != value:
            return f"{key}={value} but the metageneration is {metageneration}"
        if key == "ifMetagenerationNotMatch" and metageneration == value:
            return f"{key}={value} matches the metageneration"
    return None


def _first_json_part(content_type: str, body: bytes) -> dict[str, Any]:
    """The object resource (first part) of a multipart/related upload body, without parsing the
    media part (which can be large)."""
    message = email.message.Message()
    message["Content-Type"] = content_type
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str):
        return {}
    delimiter = b"--" + boundary.encode()
    sections = body.split(delimiter, 2)
    if len(sections) < 3:
        return {}
    _, _, payload = sections[1].partition(b"\r\n\r\n")
    try:
        resource = json.loads(payload)
    except ValueError:
        return {}
    return resource if isinstance(resource, dict) else {}


class Gateway:
    """Listens on ``host:port`` (the port clients see) and forwards to fake-gcs-server."""

    def __init__(self, host: str, port: int, upstream_port: int, objects_root: Path) -> None:
        self.upstream = (host, upstream_port)
        self.objects_root = objects_root
        self._locks = [threading.Lock() for _ in range(64)]
        self._resumable: dict[str, tuple[str, str, dict[str, str]]] = {}
        self._local = threading.local()
        self._clients: set[Any] = set()
        #: monotonic time of the last successful write (fake-gcs-server publishes its notification after)
        self.last_write = 0.0
        #: set while fake-gcs-server is up; cleared by the supervisor while it restarts it
        self.upstream_up = threading.Event()
        self.upstream_up.set()
        #: called with the object resource (JSON bytes) of every acknowledged object write
        self.on_object_written: Callable[[bytes], None] | None = None
        self._clients_lock = threading.Lock()
        gateway = self

        class Handler(_Handler):
            owner = gateway

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="gcs-gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        with self._clients_lock:  # kept-alive client connections would outlive the listener
            for sock in self._clients:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._clients.clear()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # --- upstream ----------------------------------------------------------------------------
    def connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(*self.upstream, timeout=120)
            conn.connect()
            assert conn.sock is not None
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._local.conn = conn
        return conn

    def drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def current(self, bucket: str, name: str) -> dict[str, Any] | None:
        conn = self.connection()
        conn.request("GET", f"/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}")
        response = conn.getresponse()
        data = response.read()
        return json.loads(data) if response.status == 200 else None

    @contextmanager
    def locked(self, bucket: str, name: str) -> Iterator[None]:
        with self._locks[zlib.crc32(f"{bucket}/{name}".encode()) % len(self._locks)]:
            yield

    def check(self, bucket: str, name: str, conditions: Mapping[str, str], *, read: bool = False) -> None:
        """412 when a precondition fails; a read whose ``...NotMatch`` fails is 304, as in GCS."""
        if conditions:
            failure = unmet_condition(conditions, self.current(bucket, name))
            if failure and read and "NotMatch=" in failure:
                raise GatewayReject(304, "notModified", "Not Modified")
            if failure:
                raise GatewayReject(412, "conditionNotMet", f"Precondition Failed: {failure}")

    def check_layout(self, bucket: str, name: str) -> None:
        """Reject a name the plain-file layout cannot hold, instead of letting fake-gcs-server 500."""
        if not mirror.representable(name):
            raise GatewayReject(
                400, "invalid", f"object name {name!r} cannot be stored as a plain file locally"
            )
        path = mirror.object_path(self.objects_root, bucket, name)
        if path.is_dir():
            raise GatewayReject(
                409, "conflict", f"{name!r} is a prefix of existing objects (local file layout)"
            )
        for parent in path.relative_to(self.objects_root / bucket).parents:
            if str(parent) != "." and (self.objects_root / bucket / parent).is_file():
                raise GatewayReject(
                    409, "conflict", f"{name!r} lies under existing object {parent.as_posix()!r}"
                )

    def remember_resumable(self, upload_id: str, bucket: str, name: str, conditions: dict[str, str]) -> None:
        self._resumable[upload_id] = (bucket, name, conditions)

    def resumable(self, upload_id: str) -> tuple[str, str, dict[str, str]] | None:
        return self._resumable.get(upload_id)

    def forget_resumable(self, upload_id: str) -> None:
        self._resumable.pop(upload_id, None)


class _Handler(BaseHTTPRequestHandler):
    owner: Gateway
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle/delayed-ACK stalls
        with self.owner._clients_lock:
            self.owner._clients.add(self.connection)

    def finish(self) -> None:
        with self.owner._clients_lock:
            self.owner._clients.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.owner.upstream_up.wait(UPSTREAM_WAIT_S)
        try:
            with self._guard(body) as after:
                status, headers, payload = self._forward(body)
                after(status, headers)
            if self.command != "GET" and status < 300:
                self.owner.last_write = time.monotonic()
                self._report_written(status, payload)
        except GatewayReject as reject:
            status, headers, payload = reject.status, [("Content-Type", "application/json")], reject.body()
            if status == 304:
                payload = b""
        except (ConnectionError, http.client.HTTPException) as exc:  # fake-gcs-server down or starting
            unreachable = GatewayReject(502, "backendError", f"storage backend unreachable: {exc}")
            status, headers, payload = 502, [("Content-Type", "application/json")], unreachable.body()
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        deadline = time.monotonic() + UPSTREAM_WAIT_S
        attempt = 0
        while True:
            try:
                conn = self.owner.connection()
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                return response.status, response.getheaders(), response.read()
            except ConnectionRefusedError:  # never reached the upstream: it is down or restarting
                self.owner.drop_connection()
                if time.monotonic() >= deadline:
                    raise
                self.owner.upstream_up.wait(max(0.0, deadline - time.monotonic()))
                time.sleep(_RETRY_PAUSE_S)
            except (ConnectionError, http.client.HTTPException):
                # a kept-alive upstream connection may have been closed meanwhile: one more try
                self.owner.drop_connection()
                attempt += 1
                if attempt == 2:
                    raise

    _WRITES = ("/copyTo/", "/rewriteTo/", "/compose")

    def _report_written(self, status: int, payload: bytes) -> None:
        """Hand the resource of an acknowledged object write to ``on_object_written``."""
        hook = self.owner.on_object_written
        path = urlsplit(self.path).path
        if hook is None or status not in (200, 201) or self.command not in ("POST", "PUT"):
            return
        if not (path.startswith("/upload/") or any(w in path for w in self._WRITES)):
            return
        try:
            resource = json.loads(payload)
        except ValueError:
            return
        if isinstance(resource, dict) and resource.get("kind") == "storage#rewriteResponse":
            resource = resource.get("resource") if resource.get("done") else None
        if isinstance(resource, dict) and resource.get("kind") == "storage#object":
            hook(json.dumps(resource).encode())

    @contextmanager
    def _guard(self, body: bytes) -> Iterator[Any]:
        """Check the request's preconditions under the object's lock; yields a callback that sees
        the upstream response (to learn resumable upload ids)."""
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        parts = [unquote(p) for p in url.path.split("/")[1:]]
        if parts and parts[0] == "download":
            parts = parts[1:]
        conditions = {k: query[k] for k in _CONDITIONS if k in query}
        noop = lambda status, headers: None  # noqa: E731
        target = self._target(parts, query, body)
        if target is None:
            yield noop
            return
        bucket, name, creates = target
        if creates:
            self.owner.check_layout(bucket, name)
        with self.owner.locked(bucket, name):
            if query.get("uploadType") == "resumable" and self.command == "PUT":
                session = self.owner.resumable(query.get("upload_id", ""))
                if session is not None and self._final_chunk():
                    self.owner.check(bucket, name, session[2])
            else:
                self.owner.check(bucket, name, conditions, read=self.command == "GET")
            source = {_SOURCE_CONDITIONS[k]: v for k, v in query.items() if k in _SOURCE_CONDITIONS}
            if source and len(parts) == 11 and parts[6] in ("copyTo", "rewriteTo"):
                self.owner.check(parts[3], parts[5], source)

            def after(status: int, headers: list[tuple[str, str]]) -> None:
                if query.get("uploadType") == "resumable" and self.command == "POST" and status < 300:
                    location = dict((k.lower(), v) for k, v in headers).get("location", "")
                    upload_id = parse_qs(urlsplit(location).query).get("upload_id", [""])[-1]
                    if upload_id and conditions:
                        self.owner.remember_resumable(upload_id, bucket, name, conditions)
                elif query.get("uploadType") == "resumable" and status in (200, 201):
                    self.owner.forget_resumable(query.get("upload_id", ""))

            yield after

    def _target(self, parts: list[str], query: dict[str, str], body: bytes) -> tuple[str, str, bool] | None:
        """(bucket, object, creates) of an object-level request, else None. ``parts`` is the
        unquoted path without its leading ``/download`` (downloads use the same layout)."""
        # upload/storage/v1/b/{bucket}/o  (media, multipart, resumable)
        if len(parts) == 6 and parts[0] == "upload" and parts[5] == "o":
            if self.command == "PUT":
                session = self.owner.resumable(query.get("upload_id", ""))
                return (session[0], session[1], True) if session else None
            name = query.get("name")
            content_type = self.headers.get("Content-Type", "")
            if name is None and content_type.startswith("multipart/"):
                name = _first_json_part(content_type, body).get("name")
            elif name is None and body:
                try:
                    name = json.loads(body).get("name")
                except ValueError:
                    name = None
            return (parts[4], name, True) if name else None
        # storage/v1/b/{bucket}/o/{object}[/copyTo|rewriteTo/b/{b2}/o/{o2} | /compose]
        if len(parts) >= 6 and parts[:3] == ["storage", "v1", "b"] and parts[4] == "o":
            if len(parts) == 11 and parts[6] in ("copyTo", "rewriteTo"):
                return parts[8], parts[10], True
            if len(parts) == 7 and parts[6] == "compose":
                return parts[3], parts[5], True
            if len(parts) == 6 and self.command in ("GET", "PATCH", "PUT", "DELETE"):
                return parts[3], parts[5], False
        return None

    def _final_chunk(self) -> bool:
        content_range = self.headers.get("Content-Range", "")
        if not content_range.startswith("bytes ") or content_range.endswith("/*"):
            return False
        span, _, total = content_range[6:].partition("/")
        if span == "*":
            return True
        return int(span.partition("-")[2]) + 1 == int(total)
