"""The supervision the crash drills rely on, piece by piece: a function process killed with SIGKILL
comes back on its port (new pid, restart counted, its worker gone with it), and a child started
through ``die_with_parent`` dies with a host killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from localgcp.services.functions.host import FunctionsHost

pytestmark = [pytest.mark.drills, pytest.mark.timeout(180)]

SOURCE = """
import functions_framework


@functions_framework.http
def hello(request):
    return "hello"
"""


def _wait(check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for whoever reaps it; it runs nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_a_killed_function_process_is_restarted_on_its_port(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "main.py").write_text(SOURCE)
    host = FunctionsHost(("hello",), {}, tmp_path / "logs", None, source=tmp_path / "fn" / "main.py")
    host.start()
    try:
        assert requests.get(host.url("hello"), timeout=10).text == "hello"
        (before,) = host.status()
        assert before["state"] == "up" and before["restarts"] == 0
        workers = _children(before["pid"])  # gunicorn's worker serves the requests
        os.kill(before["pid"], signal.SIGKILL)
        _wait(lambda: host.status()[0]["restarts"] == 1)
        (after,) = host.status()
        assert after["state"] == "up" and after["pid"] != before["pid"] and after["port"] == before["port"]
        assert after["restart_seconds"][0] > 0
        assert requests.get(host.url("hello"), timeout=10).text == "hello"
        _wait(lambda: not any(_running(w) for w in workers), 10)  # the old worker went with its master
        assert workers
    finally:
        host.stop()
    assert host.status()[0]["state"] == "down"


PARENT = """
import subprocess, sys, time
from localgcp.services.functions.host import die_with_parent
child = subprocess.Popen(die_with_parent(["sleep", "120"]), start_new_session=True)
print(child.pid, flush=True)
time.sleep(120)
"""


def test_a_child_dies_with_its_killed_host() -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        _wait(lambda: Path(f"/proc/{child}/cmdline").read_bytes().startswith(b"sleep"))
        parent.kill()
        parent.wait()
        _wait(
            lambda: (
                not Path(f"/proc/{child}").exists()
                or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
            )
        )
    finally:
        parent.kill()


def test_local_up_ends_only_what_a_dead_stack_left_running() -> None:
    """``end_leftovers``: a listed pid whose command line is one of the stack's children is ended;
    a listed pid that now runs something else (the system reused it) is left alone."""
    from rillflow.commands.local import end_leftovers

    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "functions-framework"])
    stranger = subprocess.Popen(["sleep", "120"])
    try:
        state = {
            "pid": 1,
            "processes": [
                {"name": "function:x", "kind": "process", "pid": leftover.pid},
                {"name": "storage:fake-gcs-server", "kind": "process", "pid": stranger.pid},
                {"name": "pubsub", "kind": "thread", "pid": 1},
            ],
        }
        assert end_leftovers(state) == [leftover.pid]
        assert leftover.wait(10) == -signal.SIGKILL
        assert stranger.poll() is None
    finally:
        leftover.kill()
        stranger.kill()
