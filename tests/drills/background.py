"""A background stack as a user runs it (``rillflow local up`` / ``run`` / ``down`` as commands),
on ports of its own, for the drill that kills ``python -m harness serve`` itself."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from rillflow.settings import Ports

RILLFLOW = str(Path(sys.executable).parent / "rillflow")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(functions: int, start: int = 21000) -> dict[str, str]:
    """``RILLFLOW_PORT_*`` for every fixed port: free ones, the functions' a free consecutive run."""
    port, env = start, {}
    for f in fields(Ports):
        want = functions if f.name == "functions_base" else 1
        while not all(_free(p) for p in range(port, port + want)):
            port += want
        env[f"RILLFLOW_PORT_{f.name.upper()}"] = str(port)
        port += want
    return env


def rillflow(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RILLFLOW, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def state(home: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((home / "stack.json").read_text())
    return data


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in _status(pid)


def _status(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return ""
