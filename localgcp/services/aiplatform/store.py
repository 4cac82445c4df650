"""Durable state of the local Vertex AI: one SQLite file (WAL) under the service's data dir.

Every resource (model versions, endpoints, datasets, custom jobs, operations) is a row of
``resources`` holding its serialized protobuf, keyed by kind and full resource name, so a
restart loses nothing. Numeric ids (models, endpoints, deployed models, ...) come from
``counters``, never reused. One connection behind one lock serializes access from the gRPC
worker threads and the job runner threads.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from localgcp.services.aiplatform.rpc import not_found

DB_FILE = "aiplatform.sqlite3"
TABLES_SQL = """
CREATE TABLE IF NOT EXISTS resources(
  kind TEXT NOT NULL, name TEXT NOT NULL, parent TEXT NOT NULL, pb BLOB NOT NULL, PRIMARY KEY(kind, name));
CREATE INDEX IF NOT EXISTS resources_by_parent ON resources(kind, parent);
CREATE TABLE IF NOT EXISTS counters(kind TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""
#: ids start high enough to look like Vertex's numeric ids and never collide with version ids
FIRST_ID = 1000


class Store:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(data_dir / DB_FILE), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(TABLES_SQL)
        self.lock = threading.RLock()

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    def next_id(self, kind: str, first: int = FIRST_ID) -> int:
        with self.lock:
            row = self._conn.execute(
                "INSERT INTO counters(kind, n) VALUES (?, ?) ON CONFLICT(kind) DO UPDATE SET n = n + 1 RETURNING n",
                (kind, first),
            ).fetchone()
            return int(row[0])

    def put(self, kind: str, name: str, message: Any, parent: str) -> None:
        """Insert or replace; an update keeps the row's place (rowid) in creation order."""
        with self.lock:
            self._conn.execute(
                "INSERT INTO resources(kind, name, parent, pb) VALUES (?,?,?,?) "
                "ON CONFLICT(kind, name) DO UPDATE SET pb = excluded.pb, parent = excluded.parent",
                (kind, name, parent, message.SerializeToString()),
            )

    def get(self, kind: str, name: str, cls: Any) -> Any | None:
        with self.lock:
            row = self._conn.execute(
                "SELECT pb FROM resources WHERE kind=? AND name=?", (kind, name)
            ).fetchone()
        return cls.FromString(row[0]) if row else None

    def require(self, kind: str, name: str, cls: Any, label: str) -> Any:
        """The resource, or NOT_FOUND naming it as the API does (``label``: e.g. ``CustomJob``)."""
        found = self.get(kind, name, cls)
        if found is None:
            raise not_found(label, name)
        return found

    def all(self, kind: str, cls: Any, parent: str | None = None) -> list[Any]:
        """Every resource of ``kind`` (under ``parent`` if given), in creation order."""
        with self.lock:
            if parent is None:
                rows = self._conn.execute("SELECT pb FROM resources WHERE kind=? ORDER BY rowid", (kind,))
            else:
                rows = self._conn.execute(
                    "SELECT pb FROM resources WHERE kind=? AND parent=? ORDER BY rowid", (kind, parent)
                )
            blobs = [r[0] for r in rows.fetchall()]
        return [cls.FromString(b) for b in blobs]

    def delete(self, kind: str, name: str) -> None:
        with self.lock:
            self._conn.execute("DELETE FROM resources WHERE kind=? AND name=?", (kind, name))
