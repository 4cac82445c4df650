"""The Cloud Functions build contract, run on dist/functions-source.zip.

As the gen2 build does: unpack the archive into an empty folder, install its requirements.txt
(hashed, ``--require-hashes``) into a clean virtualenv, and serve each entry point with
``functions-framework --target X --source main.py``. Every function named in
functions/triggers.yaml must come up and answer: an HTTP function a body that is not a JSON object
with its own 400, a CloudEvent function a POST that is not a CloudEvent with functions-framework's
400 (and a GET with 405). Neither request reaches a Google service.

One virtualenv per test session; installing it needs the package index (about a minute).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support.deploy import Packaged

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TRIGGERS = yaml.safe_load((ROOT / "functions" / "triggers.yaml").read_text())
EVENT_FUNCTIONS = sorted(t["function"] for t in TRIGGERS["event_triggers"])
HTTP_FUNCTIONS = sorted(TRIGGERS["http_functions"])


@dataclass(frozen=True)
class Unpacked:
    source: Path
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def env(self) -> dict[str, str]:
        """A function's environment: none of this machine's Python paths or local emulators."""
        keep = ("PATH", "HOME", "LANG", "TMPDIR")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        return env | {"RILLFLOW_ENV": "cloud", "GOOGLE_CLOUD_PROJECT": "rillflow-archive-test"}


@pytest.fixture(scope="session")
def unpacked(packaged: Packaged, tmp_path_factory: pytest.TempPathFactory) -> Unpacked:
    source = tmp_path_factory.mktemp("function-source")
    assert not any(source.iterdir())
    with zipfile.ZipFile(packaged.dist / "functions-source.zip") as archive:
        archive.extractall(source)
    venv = tmp_path_factory.mktemp("function-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--no-input",
         "--require-hashes", "-r", str(source / "requirements.txt")],
        capture_output=True, text=True, timeout=900,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-4000:]
    return Unpacked(source, venv)


def test_every_module_of_the_archive_imports_in_the_clean_venv(unpacked: Unpacked) -> None:
    """Lazily imported modules too (Google clients, generators): they must be installed and shipped."""
    modules = sorted(
        ".".join(p.relative_to(unpacked.source).with_suffix("").parts).removesuffix(".__init__")
        for p in unpacked.source.rglob("*.py")
    )
    script = (
        "import importlib, json, sys\n"
        "for name in sys.argv[1:]:\n    importlib.import_module(name)\n"
        "print(json.dumps({n: getattr(m, '__file__', None) for n, m in sys.modules.items()}))\n"
    )
    result = subprocess.run(
        [str(unpacked.python), "-c", script, *modules],
        cwd=unpacked.source, env=unpacked.env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    files = json.loads(result.stdout.splitlines()[-1])
    first_party = {n: f for n, f in files.items() if n.split(".")[0] in {"rillflow", "contracts", "main"}}
    assert first_party and all(Path(f).is_relative_to(unpacked.source) for f in first_party.values())
    # nothing from the repository or its .venv: the archive and the clean venv are all there is
    assert not [f for f in files.values() if f and Path(f).is_relative_to(ROOT)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    target: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@pytest.fixture(scope="module")
def servers(unpacked: Unpacked, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    logs = tmp_path_factory.mktemp("function-logs")
    cli = unpacked.venv / "bin" / "functions-framework"
    started: dict[str, Server] = {}
    try:
        for target in EVENT_FUNCTIONS + HTTP_FUNCTIONS:
            port = _free_port()
            log = logs / f"{target}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [str(cli), "--target", target, "--source", "main.py", "--host", "127.0.0.1", "--port", str(port)],
                    cwd=unpacked.source, env=unpacked.env(), stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
            started[target] = Server(target, port, process, log)
        for server in started.values():
            _wait_listening(server)
        yield started
    finally:
        for server in started.values():
            _stop(server.process)


def _wait_listening(server: Server, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"{server.target} exited: {server.log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", server.port)) == 0:
                return
        time.sleep(0.2)
    pytest.fail(f"{server.target} did not listen within {timeout_s}s: {server.log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # the session this test started: functions-framework and its workers
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def _request(url: str, method: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def test_triggers_declare_the_entry_points() -> None:
    assert EVENT_FUNCTIONS and HTTP_FUNCTIONS
    assert not set(EVENT_FUNCTIONS) & set(HTTP_FUNCTIONS)


@pytest.mark.parametrize("target", HTTP_FUNCTIONS)
def test_http_function_serves_and_rejects_a_bad_body(servers: dict[str, Server], target: str) -> None:
    server = servers[target]
    status, text = _request(server.url(), "POST", b"[]", {"Content-Type": "application/json"})
    assert status == 400, (status, text, server.log.read_text()[-3000:])
    assert "JSON object" in text


@pytest.mark.parametrize("target", EVENT_FUNCTIONS)
def test_cloudevent_function_serves_and_rejects_a_malformed_event(
    servers: dict[str, Server], target: str
) -> None:
    server = servers[target]
    status, text = _request(server.url(), "POST", b"{}", {"Content-Type": "application/json"})
    assert 400 <= status < 500, (status, text, server.log.read_text()[-3000:])
    status, _ = _request(server.url(), "GET", None, {})
    assert 400 <= status < 500
    assert server.process.poll() is None
