"""Local BigQuery: bqemulator (PyPI) as a subprocess of its own tool venv.

bqemulator speaks the BigQuery REST API (and the Storage Read/Write gRPC APIs) over DuckDB,
translating GoogleSQL with sqlglot. It needs an older sqlglot than the project pins, so it lives
in ``.venv-tools/bqemulator`` (``make tools-bqemulator``, locked by
``tools/bqemulator/requirements.lock``) and runs through :mod:`launcher` (which makes its DuckDB
``spatial`` install best-effort, so it starts offline, and accepts the ``*/*`` media type the
official client uploads load data with). The official ``google-cloud-bigquery``
client reaches it with ``AnonymousCredentials()`` and ``client_options={"api_endpoint": url}``
(:meth:`BigQueryService.client`); there is no ``*_EMULATOR_HOST`` variable for BigQuery.

Give emulator calls :data:`EMULATOR_RETRY` / :data:`EMULATOR_JOB_RETRY`: the library's default
policies retry a 500 for 10 (jobs: 40) minutes, and an emulator's 500 is not transient.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY, DEFAULT_RETRY

from localgcp.services.base import ServiceContext
from localgcp.services.bigquery.errors import BigQueryServiceError

log = logging.getLogger(__name__)

#: the tool venv's interpreter; overridable with this environment variable
PYTHON_ENV = "LOCALGCP_BQEMULATOR_PYTHON"
LAUNCHER = Path(__file__).with_name("launcher.py")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
#: per-call retry for emulator calls: transport hiccups are retried briefly, a 500 fails fast
EMULATOR_RETRY = DEFAULT_RETRY.with_timeout(5.0)
#: retry of failed query jobs against the emulator (a failed job fails again: give up quickly)
EMULATOR_JOB_RETRY = DEFAULT_JOB_RETRY.with_timeout(5.0)


def tool_python() -> Path:
    """The interpreter of bqemulator's tool venv (``$LOCALGCP_BQEMULATOR_PYTHON``, else
    ``.venv-tools/bqemulator/bin/python`` at the repository root)."""
    # localgcp's own emulator knob (LOCALGCP_*, like LOCALGCP_PUBSUB_*), not a Rillflow setting
    override = os.environ.get(PYTHON_ENV, "")
    if override:
        path = Path(override)
    else:
        root = Path(__file__).resolve().parents[3]
        path = (
            root / ".venv-tools" / "bqemulator" / ("Scripts" if sys.platform == "win32" else "bin") / "python"
        )
    if not path.exists():
        raise BigQueryServiceError(
            f"bqemulator's tool venv is not installed ({path} is missing): run `make tools-bqemulator`"
        )
    return path


class BigQueryService:
    """The ``bigquery`` service of localgcp: start/stop bqemulator, hand out clients for it."""

    name = "bigquery"

    def __init__(self, ctx: ServiceContext, gcs_root: Path | None = None) -> None:
        self.ctx = ctx
        self.gcs_root = gcs_root
        self.log_path = ctx.data_dir / "bqemulator.log"
        self._ready_file = ctx.data_dir / "bqemulator.ready.json"
        self._port = ctx.port
        self._grpc_port = 0
        self._process: subprocess.Popen[bytes] | None = None

    # --- Service protocol ----------------------------------------------------------------
    @property
    def address(self) -> str:
        return f"{self.ctx.host}:{self._port}"

    @property
    def url(self) -> str:
        """The REST endpoint: the client's ``api_endpoint``."""
        return f"http://{self.address}"

    @property
    def grpc_address(self) -> str:
        """``host:port`` of the Storage Read/Write gRPC APIs."""
        return f"{self.ctx.host}:{self._grpc_port}"

    def start(self) -> None:
        if self._process is not None:
            return
        if self.ctx.host != "127.0.0.1":
            raise BigQueryServiceError(f"bigquery binds 127.0.0.1 only, got host {self.ctx.host!r}")
        python = tool_python()
        self.ctx.data_dir.mkdir(parents=True, exist_ok=True)
        self._ready_file.unlink(missing_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BQEMU_")}
        env.pop("GOOGLE_APPLICATION_CREDENTIALS", None)
        env["NO_COLOR"] = "1"
        with self.log_path.open("ab") as logfile:
            self._process = subprocess.Popen(
                self._command(python),
                env=env,
                cwd=self.ctx.data_dir,  # bqemulator reads a .bqemu.toml from its working directory
                stdout=logfile,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("bqemulator did not stop within %ss; killing it", STOP_TIMEOUT_S)
            process.kill()
            process.wait()
        self._ready_file.unlink(missing_ok=True)

    # --- clients ---------------------------------------------------------------------------
    def client_options(self) -> dict[str, str]:
        return {"api_endpoint": self.url}

    def client(self, project: str | None = None, location: str | None = None) -> Any:
        """An official ``google.cloud.bigquery.Client`` talking to this emulator.

        Calls still need ``retry=EMULATOR_RETRY`` (and ``job_retry=EMULATOR_JOB_RETRY`` for
        queries), and results are read over REST (``create_bqstorage_client=False``).
        """
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        return bigquery.Client(
            project=project or self.ctx.project,
            location=location,
            credentials=AnonymousCredentials(),
            client_options=self.client_options(),
        )

    # --- internals -------------------------------------------------------------------------
    def _command(self, python: Path) -> list[str]:
        command = [
            str(python),
            str(LAUNCHER),
            "--port", str(self._port),
            "--data-dir", str(self.ctx.data_dir / "data"),
            "--project", self.ctx.project,
            "--ready-file", str(self._ready_file),
            "--parent-pid", str(os.getpid()),
        ]  # fmt: skip
        if self.gcs_root is not None:
            command += ["--gcs-root", str(self.gcs_root)]
        return command

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise BigQueryServiceError(
                    f"bqemulator exited with {self._process.returncode}; see {self.log_path}:\n"
                    + self._log_tail()
                )
            if self._ready_file.exists():
                ports = json.loads(self._ready_file.read_text())
                self._port, self._grpc_port = int(ports["rest_port"]), int(ports["grpc_port"])
                if self._answers():
                    return
            time.sleep(0.05)
        raise BigQueryServiceError(
            f"bqemulator did not answer on {self.url} within {START_TIMEOUT_S}s; see {self.log_path}"
        )

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""
