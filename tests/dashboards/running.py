"""The dashboard app as a user runs it: ``rillflow dashboards serve`` in a subprocess on a free
127.0.0.1 port over a given ``RILLFLOW_HOME`` (shared by the ``app`` fixtures and the browser tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rillflow.warehouse import DuckDBWarehouse

WAREHOUSE_FILE = "rillflow.duckdb"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningApp:
    url: str
    home: Path
    process: subprocess.Popen[str]

    @property
    def warehouse(self) -> DuckDBWarehouse:
        return DuckDBWarehouse(self.home / WAREHOUSE_FILE)


def launch_app(home: Path) -> RunningApp:
    """``rillflow dashboards serve --port P`` with ``RILLFLOW_HOME=home``, started (not yet answering)."""
    port = free_port()
    env = {**os.environ, "RILLFLOW_HOME": str(home), "RILLFLOW_ENV": "local"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from rillflow.cli import main; main()",
            "dashboards",
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return RunningApp(f"http://127.0.0.1:{port}/", home, process)


def wait_ready(app: RunningApp, timeout_s: float = 60.0) -> RunningApp:
    """Wait until ``app`` answers its health check (fail with its output if it exits or times out)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(app.url + "healthz", timeout=2) as response:
                if response.status == 200:
                    return app
        except OSError:
            pass
        if app.process.poll() is not None or time.monotonic() > deadline:
            app.process.kill()
            output = app.process.communicate()[0]
            raise AssertionError(f"the app did not start:\n{output[-3000:]}")
        time.sleep(0.2)


def start_app(home: Path, timeout_s: float = 60.0) -> RunningApp:
    return wait_ready(launch_app(home), timeout_s)


def stop_app(app: RunningApp) -> None:
    app.process.terminate()
    app.process.wait(timeout=10)


def home_with(warehouse: Path, home: Path) -> Path:
    """``home`` holding a copy of ``warehouse`` as its local warehouse (tests may write to it)."""
    (home / WAREHOUSE_FILE).write_bytes(warehouse.read_bytes())
    return home
