"""Runs each Cloud Function as a real ``functions-framework --target X`` process (one target per
process, as functions-framework serves), on loopback, with the environment of the local cloud.

Cloud Run replaces an instance that dies; here a supervisor thread does the same: a function
process that exits while the host runs is started again on the same port (its URL is what the
router, the scheduler and Workflows hold), after a backoff that grows while it keeps dying, and
each restart is logged and counted (``status()``, shown by ``rillflow local status``). Callers
see the gap as a refused connection and retry, as they would a 503 in the cloud.

functions-framework serves through gunicorn: the process started here (its pid in the status) is
gunicorn's master and the request runs in its worker, a child. Each function runs in a process
group of its own, so that when the master dies the whole instance goes with it — the worker
would otherwise finish its request and keep the port — as a Cloud Run instance dies whole.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localgcp.services.base import LOOPBACK
from localgcp.services.functions.front import Front
from localgcp.services.functions.oidc import Issuer

log = logging.getLogger("localgcp.functions")

#: first delay before restarting a dead function process; doubles per consecutive death
RESTART_BACKOFF_S = 0.25
RESTART_BACKOFF_MAX_S = 10.0
#: a process that stayed up this long resets its backoff (its next death is a fresh one)
STABLE_S = 30.0


#: run a command so that it gets SIGKILL when the thread that started it ends (Linux prctl(2)
#: PR_SET_PDEATHSIG, kept across exec), and not at all if that parent is already gone. Done in the
#: child before exec rather than in a ``preexec_fn``: forking a process with gRPC's threads running
#: is what ``preexec_fn`` would need, and gRPC warns of it on every start
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)\n"
    "os.getppid() == int(sys.argv[1]) or sys.exit(70)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def die_with_parent(command: list[str]) -> list[str]:
    """``command`` wrapped so that it dies with its host (see ``_DIE_WITH_PARENT``): a host killed
    with SIGKILL leaves no function process holding its port, nor a drain, behind (the function
    processes live in process groups of their own, out of reach of the host's group)."""
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-c", _DIE_WITH_PARENT, str(os.getpid()), *command]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what or 'process'} exited with code {proc.returncode} before listening")
        if listening(port):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what or 'service'} did not listen on {LOOPBACK}:{port} within {timeout_s:.0f}s")


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((LOOPBACK, port)) == 0


@dataclass
class FunctionProcess:
    name: str
    port: int
    log_path: Path
    #: where functions-framework listens: ``port`` itself, or a private port behind the ID-token
    #: front (:mod:`localgcp.services.functions.front`) that serves ``port``
    backend_port: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    #: how many times the supervisor started it again after it died
    restarts: int = 0
    #: seconds from noticing the death to listening again, per restart
    restart_seconds: list[float] = field(default_factory=list)
    started_at: float = 0.0
    consecutive_deaths: int = 0

    def __post_init__(self) -> None:
        self.backend_port = self.backend_port or self.port

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class FunctionsHost:
    """Starts, supervises (restarts what dies), reports and stops one functions-framework process
    per function."""

    def __init__(
        self,
        names: tuple[str, ...],
        env: dict[str, str],
        log_dir: Path,
        base_port: int | None,
        *,
        source: Path,
        issuer: Issuer | None = None,
        invokers: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        """``source``: the functions' ``main.py`` (the starter's: localgcp knows no application),
        served from its folder's parent as the working directory. ``issuer``: require its ID
        tokens on every request, as Cloud Run does, from the service accounts ``invokers`` names
        per function (``run.invoker``; a function it does not name takes any caller's token)."""
        self.source = source
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.issuer = issuer
        self.invokers = dict(invokers or {})
        self.processes = {
            name: FunctionProcess(
                name,
                base_port + i if base_port else free_port(),
                log_dir / f"{name}.log",
                backend_port=free_port() if issuer is not None else 0,
            )
            for i, name in enumerate(names)
        }
        self.fronts: dict[str, Front] = {}
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def url(self, name: str) -> str:
        return self.processes[name].url

    def start(self, timeout_s: float = 90.0) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for fp in self.processes.values():
            self._spawn(fp)
        for fp in self.processes.values():
            wait_for_port(fp.backend_port, timeout_s, fp.proc, f"function {fp.name} (log: {fp.log_path})")
            if self.issuer is not None:
                self.fronts[fp.name] = Front(
                    fp.port, fp.backend_port, self.issuer, self.invokers.get(fp.name)
                )
                self.fronts[fp.name].start()
        self._stopping.clear()
        self._supervisor = threading.Thread(target=self._supervise, name="functions-supervisor", daemon=True)
        self._supervisor.start()

    def _spawn(self, fp: FunctionProcess) -> None:
        cli = Path(sys.executable).parent / "functions-framework"
        with fp.log_path.open("ab") as out:
            fp.proc = subprocess.Popen(
                die_with_parent(
                    [str(cli), "--target", fp.name, "--source", str(self.source)]
                    + ["--host", LOOPBACK, "--port", str(fp.backend_port)]
                ),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.source.parent.parent,
                start_new_session=True,  # its own process group: the instance (see the module doc)
            )
        fp.started_at = time.monotonic()

    # --- supervision -----------------------------------------------------------------------
    def _supervise(self, poll_s: float = 0.1) -> None:
        while not self._stopping.wait(poll_s):
            for fp in self.processes.values():
                if not self._stopping.is_set() and fp.proc is not None and fp.proc.poll() is not None:
                    self._restart(fp)

    def _restart(self, fp: FunctionProcess) -> None:
        """Start a dead function again on its port, after a backoff that grows while it keeps dying."""
        noticed = time.monotonic()
        code = fp.proc.returncode if fp.proc is not None else None
        if noticed - fp.started_at >= STABLE_S:
            fp.consecutive_deaths = 0
        backoff = min(RESTART_BACKOFF_S * 2**fp.consecutive_deaths, RESTART_BACKOFF_MAX_S)
        fp.consecutive_deaths += 1
        log.warning(
            "function %s (pid %s) exited with %s; restarting in %.2fs", fp.name, fp.pid, code, backoff
        )
        kill_group(fp)  # what the dead master left: its worker, maybe mid-request, holding the port
        if self._stopping.wait(backoff):
            return
        self._spawn(fp)
        deadline = time.monotonic() + 90.0
        while not listening(fp.backend_port):
            if fp.proc is None or fp.proc.poll() is not None or time.monotonic() > deadline:
                # it died again (or hangs): the next round kills what is left and backs off more
                log.error("function %s did not come back; see %s", fp.name, fp.log_path)
                if fp.proc is not None and fp.proc.poll() is None:
                    fp.proc.kill()
                return
            if self._stopping.wait(0.05):
                return
        fp.restarts += 1
        fp.restart_seconds.append(round(time.monotonic() - noticed, 3))
        log.warning("function %s restarted (pid %s, restart %d)", fp.name, fp.pid, fp.restarts)

    def status(self) -> list[dict[str, Any]]:
        """Each function process: pid, port, up/down and how often it was restarted."""
        return [
            {
                "name": f"function:{fp.name}",
                "kind": "process",
                "pid": fp.pid,
                "port": fp.port,
                "backend_port": fp.backend_port,
                "state": "up" if fp.alive() and listening(fp.backend_port) and listening(fp.port) else "down",
                "restarts": fp.restarts,
                "restart_seconds": list(fp.restart_seconds),
                **self._traffic(fp.name),
            }
            for fp in self.processes.values()
        ]

    def _traffic(self, name: str) -> dict[str, int]:
        """Requests forwarded and in flight, refused by its front (none without ID tokens)."""
        front = self.fronts.get(name)
        if front is None:
            return {}
        return {"requests": front.forwarded, "in_flight": front.in_flight, "refused": front.refused}

    def stop(self) -> None:
        self._stopping.set()
        for front in self.fronts.values():
            front.stop()
        self.fronts.clear()
        if self._supervisor is not None:
            self._supervisor.join(timeout=10)
            self._supervisor = None
        for fp in self.processes.values():
            if fp.proc and fp.proc.poll() is None:
                fp.proc.terminate()
        for fp in self.processes.values():
            if fp.proc:
                try:
                    fp.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    fp.proc.kill()
                kill_group(fp)


def kill_group(fp: FunctionProcess) -> None:
    """SIGKILL what is left of a function's process group (the group is its master's pid)."""
    if fp.proc is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(fp.proc.pid, signal.SIGKILL)
