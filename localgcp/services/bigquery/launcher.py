"""Start bqemulator (the BigQuery REST + gRPC emulator) the way localgcp needs it.

Run with the tool venv's interpreter (``.venv-tools/bqemulator/bin/python``), by path: this file
imports only the standard library and ``bqemulator``, never ``localgcp`` or ``rillflow``, so it
works in a venv that has neither.

What it changes compared with ``bqemulator start``:

* bqemulator's engine runs DuckDB ``INSTALL spatial`` / ``LOAD spatial`` at start and treats a
  failure as fatal; offline (no ``extensions.duckdb.org``) the emulator then never starts. The
  launcher wraps that one engine method at import time so a failure is logged and the start
  goes on: everything but GEOGRAPHY works (``ST_*`` functions then fail at query time).
* the official client sends the media part of a multipart load job (``load_table_from_file``,
  ``load_table_from_dataframe`` under 5 MiB) as ``Content-Type: */*``, which BigQuery accepts and
  bqemulator's upload route rejects (400 "unsupported Content-Type"); the launcher adds that
  generic type to the route's list of accepted media types.
* DuckDB's ``avro`` extension is not fetched (``enable_format_extensions`` off): Avro load and
  extract jobs answer "unsupported" instead of trying the network on every start.
* both servers bind 127.0.0.1; the REST port is the one given (0 = any free port) and the gRPC
  port is always a free one; state lives in ``--data-dir`` (persistent mode: one DuckDB file).
* once both servers listen, the bound ports are written as JSON to ``--ready-file`` (atomically),
  so a caller that asked for port 0 learns the port without racing for it.
* with ``--parent-pid`` the emulator stops when that process is gone (no orphan after a
  crashed test run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
#: what google-cloud-bigquery puts on the data part of every multipart load upload
GENERIC_MEDIA_TYPE = "*/*"
log = logging.getLogger("localgcp.bigquery.launcher")


def make_spatial_best_effort() -> None:
    """Let the engine start when DuckDB's spatial extension cannot be installed or loaded."""
    from bqemulator.storage.engine import DuckDBEngine

    required = DuckDBEngine._load_spatial
    if getattr(required, "_localgcp_best_effort", False):
        return

    def load_spatial_if_available(engine: Any) -> None:
        try:
            required(engine)
        except Exception as exc:  # the emulator raises InternalError wrapping DuckDB's IOException
            log.warning("DuckDB spatial extension unavailable, GEOGRAPHY is disabled: %s", exc)

    load_spatial_if_available._localgcp_best_effort = True  # type: ignore[attr-defined]
    DuckDBEngine._load_spatial = load_spatial_if_available  # type: ignore[method-assign]


def accept_generic_upload_media_type() -> None:
    """Accept ``*/*`` as the media type of an upload's data part, as BigQuery does."""
    from bqemulator.api.routes import upload

    accepted = tuple(upload._PERMITTED_MEDIA_CONTENT_TYPES)
    if GENERIC_MEDIA_TYPE not in accepted:
        upload._PERMITTED_MEDIA_CONTENT_TYPES = (*accepted, GENERIC_MEDIA_TYPE)


def _parent_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return os.getppid() == pid


def _write_ready(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


async def serve(args: argparse.Namespace) -> None:
    from bqemulator.config import LogFormat, LogLevel, PersistenceMode, Settings
    from bqemulator.server import EmulatorServer

    make_spatial_best_effort()
    accept_generic_upload_media_type()
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    overrides: dict[str, Any] = {
        "rest_host": HOST,
        "rest_port": args.port,
        "grpc_host": HOST,
        "grpc_port": 0,
        "persistence_mode": PersistenceMode.PERSISTENT,
        "data_dir": data_dir,
        "default_project_id": args.project,
        "enable_format_extensions": False,
        "upload_staging_dir": data_dir / "uploads",
        "log_level": LogLevel(args.log_level),
        "log_format": LogFormat.CONSOLE,
        "metrics_enabled": False,
        "tracing_enabled": False,
    }
    if args.gcs_root:
        overrides["gcs_local_root"] = Path(args.gcs_root).resolve()
    server = EmulatorServer(Settings(**overrides))
    await server.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        if args.ready_file:
            _write_ready(
                Path(args.ready_file),
                {
                    "host": HOST,
                    "rest_port": server.rest_port,
                    "grpc_port": server.grpc_port,
                    "pid": os.getpid(),
                },
            )
        while not stopping.is_set():
            if args.parent_pid and not _parent_alive(args.parent_pid):
                log.warning("parent process %s is gone; stopping", args.parent_pid)
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=1.0)
    finally:
        await server.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True, help="REST port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--data-dir", required=True, help="where the emulator keeps its DuckDB file")
    parser.add_argument("--project", default="local-project", help="project id when a request omits it")
    parser.add_argument("--ready-file", default="", help="JSON with the bound ports, written once serving")
    parser.add_argument("--gcs-root", default="", help="local folder that gs://<bucket>/... resolves under")
    parser.add_argument("--parent-pid", type=int, default=0, help="stop when this process exits")
    parser.add_argument(
        "--log-level", default="warning", choices=("debug", "info", "warning", "error", "critical")
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
