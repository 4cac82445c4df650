"""The Firestore parity tier: every test here runs against two backends through the official client.

``localgcp``: the local Firestore, in-process on a free port (as ``tests/localgcp_firestore`` starts
it). ``google``: Google's Firestore emulator (``gcloud emulators firestore start``), started once
on a free 127.0.0.1 port and killed when the tier ends (package scope, so the JVM does not idle
beside the rest of the suite). Each test gets a client on a project of its own, so tests share a
backend without seeing each other's data.

Without ``gcloud`` or ``java`` on PATH (or when the emulator does not come up) the ``google`` half
is skipped with the reason, unless ``RILLFLOW_REQUIRE_GOOGLE_EMULATORS=1`` makes that a failure
(CI sets it: its machine has both).

Where the backends disagree, Google's emulator is the reference, unless the real service is
documented otherwise; such tests say so and assert each side's behaviour.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from localgcp.events import CollectingSink
from localgcp.services.base import ServiceContext
from localgcp.services.firestore import FirestoreService

REQUIRE_ENV = "RILLFLOW_REQUIRE_GOOGLE_EMULATORS"
LOCALGCP, GOOGLE = "localgcp", "google"
_START_TIMEOUT = 90.0
_READY_LINE = "Dev App Server is now running"


@dataclass
class Backend:
    name: str
    host: str

    @property
    def is_google(self) -> bool:
        return self.name == GOOGLE


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"Google's Firestore emulator is required ({REQUIRE_ENV}=1) but {reason}", pytrace=False)
    pytest.skip(f"Google's Firestore emulator not available: {reason}")


class GoogleEmulator:
    """``gcloud emulators firestore start`` in its own process group, output drained in a thread."""

    def __init__(self, gcloud: str) -> None:
        self.host = f"127.0.0.1:{_free_port()}"
        self.output: collections.deque[str] = collections.deque(maxlen=200)
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            [gcloud, "emulators", "firestore", "start", f"--host-port={self.host}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # gcloud starts a shell that starts java: stop them together
        )
        threading.Thread(target=self._drain, name="google-firestore-emulator", daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())
            if _READY_LINE in line:
                self._ready.set()

    def wait_ready(self, timeout: float) -> str | None:
        """None once it serves; otherwise why not."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if self.process.poll() is not None:
                return f"it exited with {self.process.returncode}: " + " | ".join(list(self.output)[-5:])
            if time.monotonic() > deadline:
                return f"it did not start within {timeout:.0f} s: " + " | ".join(list(self.output)[-5:])
        return None

    def stop(self) -> None:
        """Stop the process group this fixture started (gcloud, its shell and the JVM)."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="package")
def google_firestore_emulator() -> Iterator[Backend]:
    gcloud, java = shutil.which("gcloud"), shutil.which("java")
    missing = [name for name, path in (("gcloud", gcloud), ("java", java)) if path is None]
    if missing or gcloud is None:
        _unavailable(f"{' and '.join(missing)} not found on PATH")
        return
    emulator = GoogleEmulator(gcloud)
    try:
        problem = emulator.wait_ready(_START_TIMEOUT)
        if problem is not None:
            emulator.stop()
            _unavailable(problem)
        yield Backend(GOOGLE, emulator.host)
    finally:
        emulator.stop()


@pytest.fixture(scope="package")
def localgcp_firestore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    data_dir: Path = tmp_path_factory.mktemp("parity-firestore")
    ctx = ServiceContext("127.0.0.1", 0, data_dir, "rillflow-parity", CollectingSink())
    service = FirestoreService(ctx, location="europe-west1")
    service.start()
    try:
        yield Backend(LOCALGCP, service.address)
    finally:
        service.stop()


@pytest.fixture(scope="package", params=[LOCALGCP, GOOGLE])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == GOOGLE:
        return request.getfixturevalue("google_firestore_emulator")
    return request.getfixturevalue("localgcp_firestore")


@pytest.fixture
def db(backend: Backend) -> Iterator[firestore.Client]:
    """A client of ``backend`` on a fresh project (project ids need at least 6 characters)."""
    os.environ["FIRESTORE_EMULATOR_HOST"] = backend.host
    client = firestore.Client(project=f"parity-{uuid.uuid4().hex[:12]}", credentials=AnonymousCredentials())
    try:
        yield client
    finally:
        client.close()
