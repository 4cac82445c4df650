"""Google's own emulators (``gcloud ... emulators <product> start``) for the parity tiers.

Each parity tier (``tests/localgcp_firestore/parity``, ``tests/localgcp_pubsub/parity``) runs
its tests against localgcp and against Google's emulator of the same product. This module
starts such an emulator on a free 127.0.0.1 port in its own process group (gcloud starts a
shell that starts a JVM: they are stopped together), waits for its ready line and, when it is
missing or does not come up, skips with the reason, or fails when
``RILLFLOW_REQUIRE_GOOGLE_EMULATORS=1`` (CI sets it: its machine has gcloud and Java).
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
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

REQUIRE_ENV = "RILLFLOW_REQUIRE_GOOGLE_EMULATORS"
LOCALGCP, GOOGLE = "localgcp", "google"
START_TIMEOUT_S = 90.0


@dataclass
class Backend:
    """One side of a parity test: ``name`` is ``localgcp`` or ``google``; ``host`` is ``HOST:PORT``."""

    name: str
    host: str

    @property
    def is_google(self) -> bool:
        return self.name == GOOGLE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unavailable(product: str, reason: str) -> None:
    """Skip (or, when the emulators are required, fail) because Google's ``product`` emulator is missing."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"Google's {product} emulator is required ({REQUIRE_ENV}=1) but {reason}", pytrace=False)
    pytest.skip(f"Google's {product} emulator not available: {reason}")


class GcloudEmulator:
    """``gcloud <command...> --host-port=127.0.0.1:PORT`` in its own process group, output drained in a thread."""

    def __init__(self, gcloud: str, command: list[str], ready_line: str, label: str) -> None:
        self.host = f"127.0.0.1:{free_port()}"
        self.output: collections.deque[str] = collections.deque(maxlen=200)
        self._ready_line = ready_line
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            [gcloud, *command, f"--host-port={self.host}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # gcloud starts a shell that starts java: stop them together
        )
        threading.Thread(target=self._drain, name=f"google-{label}-emulator", daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())
            if self._ready_line in line:
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
        """Stop the process group this helper started (gcloud, its shell and the JVM)."""
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


def google_emulator(product: str, command: list[str], ready_line: str) -> Iterator[Backend]:
    """The body of a package-scoped fixture: Google's ``product`` emulator for the fixture's lifetime.

    ``command`` is what follows ``gcloud`` (e.g. ``["beta", "emulators", "pubsub", "start"]``);
    ``ready_line`` a fragment of the line it prints once it serves.
    """
    gcloud, java = shutil.which("gcloud"), shutil.which("java")
    missing = [name for name, path in (("gcloud", gcloud), ("java", java)) if path is None]
    if missing or gcloud is None:
        unavailable(product, f"{' and '.join(missing)} not found on PATH")
        return
    emulator = GcloudEmulator(gcloud, command, ready_line, product.lower().replace("/", ""))
    try:
        problem = emulator.wait_ready(START_TIMEOUT_S)
        if problem is not None:
            emulator.stop()
            unavailable(product, problem)
        yield Backend(GOOGLE, emulator.host)
    finally:
        emulator.stop()
