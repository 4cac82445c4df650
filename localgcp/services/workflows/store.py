"""Durable execution records (SQLite under the service's data dir), so history survives restarts."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    name TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    revision TEXT NOT NULL,
    state TEXT NOT NULL,
    argument TEXT,
    result TEXT,
    error TEXT,
    start_time REAL NOT NULL,
    end_time REAL,
    steps_executed INTEGER NOT NULL DEFAULT 0,
    step_stats TEXT,
    logs TEXT
);
CREATE INDEX IF NOT EXISTS executions_by_workflow ON executions (workflow, start_time);
"""
#: where the service keeps its executions, relative to its data dir
STORE_FILE = Path("workflows") / "executions.sqlite"
_COLUMNS = [
    "name",
    "workflow",
    "revision",
    "state",
    "argument",
    "result",
    "error",
    "start_time",
    "end_time",
    "steps_executed",
    "step_stats",
    "logs",
]


class ExecutionStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def insert(self, name: str, workflow: str, revision: str, argument: str | None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO executions (name, workflow, revision, state, argument, start_time)"
                " VALUES (?, ?, ?, 'ACTIVE', ?, ?)",
                (name, workflow, revision, argument, time.time()),
            )

    def finish(
        self,
        name: str,
        state: str,
        *,
        result: str | None = None,
        error: dict[str, Any] | None = None,
        steps_executed: int = 0,
        step_stats: dict[str, Any] | None = None,
        logs: list[dict[str, Any]] | None = None,
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE executions SET state=?, result=?, error=?, end_time=?, steps_executed=?,"
                " step_stats=?, logs=? WHERE name=? AND state='ACTIVE'",
                (
                    state,
                    result,
                    json.dumps(error) if error is not None else None,
                    time.time(),
                    steps_executed,
                    json.dumps(step_stats or {}),
                    json.dumps(logs or [], default=str),
                    name,
                ),
            )

    def get(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM executions WHERE name=?", (name,)
            ).fetchone()
        return _record(row) if row else None

    def list(self, workflow: str | None, state: str | None, limit: int, offset: int) -> list[dict[str, Any]]:
        """Newest first; ``workflow=None`` lists every workflow's executions."""
        clauses, params = [], []
        if workflow is not None:
            clauses.append("workflow = ?")
            params.append(workflow)
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM executions {where} ORDER BY start_time DESC, name LIMIT ? OFFSET ?"
        with self._lock:
            rows = self._db.execute(sql, (*params, limit, offset)).fetchall()
        return [_record(row) for row in rows]

    def fail_interrupted(self) -> int:
        """Executions left ACTIVE by a previous process cannot resume: mark them FAILED."""
        error = {
            "payload": json.dumps(
                {"message": "execution interrupted by a service restart", "tags": ["SystemError"]}
            ),
            "context": "SystemError: execution interrupted by a service restart",
            "stack": [],
        }
        with self._lock:
            cursor = self._db.execute(
                "UPDATE executions SET state='FAILED', error=?, end_time=? WHERE state='ACTIVE'",
                (json.dumps(error), time.time()),
            )
        return cursor.rowcount


def store_path(data_dir: Path) -> Path:
    return Path(data_dir) / STORE_FILE


def read_arguments(data_dir: Path, workflow: str) -> list[Any]:
    """The argument of every execution of ``workflow`` recorded under ``data_dir``, oldest first,
    read without the service running (and without creating anything when there is no store)."""
    path = store_path(data_dir)
    if not path.exists():
        return []
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT argument FROM executions WHERE workflow = ? ORDER BY start_time, name", (workflow,)
        ).fetchall()
    finally:
        db.close()
    return [json.loads(argument) if argument else None for (argument,) in rows]


def _record(row: tuple[Any, ...]) -> dict[str, Any]:
    record = dict(zip(_COLUMNS, row, strict=True))
    for key in ("error", "step_stats", "logs"):
        if record[key] is not None:
            record[key] = json.loads(record[key])
    return record
