"""Runs each Cloud Function as a real ``functions-framework --target X`` process (one target per
process, as functions-framework serves), on loopback, with the environment of the local cloud."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from rillflow.settings import LOOPBACK

FUNCTIONS_SOURCE = Path(__file__).resolve().parent.parent / "functions" / "main.py"


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
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex((LOOPBACK, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what or 'service'} did not listen on {LOOPBACK}:{port} within {timeout_s:.0f}s")


@dataclass
class FunctionProcess:
    name: str
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/"


class FunctionsHost:
    """Starts, health-checks and stops one functions-framework process per function."""

    def __init__(
        self, names: tuple[str, ...], env: dict[str, str], log_dir: Path, base_port: int | None
    ) -> None:
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.processes = {
            name: FunctionProcess(name, base_port + i if base_port else free_port(), log_dir / f"{name}.log")
            for i, name in enumerate(names)
        }

    def url(self, name: str) -> str:
        return self.processes[name].url

    def start(self, timeout_s: float = 90.0) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        cli = Path(sys.executable).parent / "functions-framework"
        for fp in self.processes.values():
            log = fp.log_path.open("ab")
            fp.proc = subprocess.Popen(
                [
                    str(cli),
                    "--target",
                    fp.name,
                    "--source",
                    str(FUNCTIONS_SOURCE),
                    "--host",
                    LOOPBACK,
                    "--port",
                    str(fp.port),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=FUNCTIONS_SOURCE.parent.parent,
            )
            log.close()
        for fp in self.processes.values():
            wait_for_port(fp.port, timeout_s, fp.proc, f"function {fp.name} (log: {fp.log_path})")

    def stop(self) -> None:
        for fp in self.processes.values():
            if fp.proc and fp.proc.poll() is None:
                fp.proc.terminate()
        for fp in self.processes.values():
            if fp.proc:
                try:
                    fp.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    fp.proc.kill()
