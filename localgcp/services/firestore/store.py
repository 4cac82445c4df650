"""Durable document storage: one SQLite file (WAL) in the service's data directory.

A row per document: full resource name, parent (document or database root), collection id,
the whole ``google.firestore.v1.Document`` serialized (so reads serve bytes unchanged), and
create/update times in microseconds. One connection guarded by a lock: the emulator's writes
are serialized anyway, and a batch of 500 writes is one SQLite transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from localgcp.services.firestore.values import now_micros

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    name TEXT PRIMARY KEY,
    parent TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    doc BLOB NOT NULL,
    create_us INTEGER NOT NULL,
    update_us INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS documents_by_collection ON documents (parent, collection_id, name);
CREATE INDEX IF NOT EXISTS documents_by_group ON documents (collection_id, name);
"""

#: one past "/" in byte order: ``prefix + "/"`` <= every descendant name < ``prefix + "0"``
_AFTER_SLASH = "0"


@dataclass(frozen=True)
class StoredDocument:
    name: str
    doc: bytes
    create_us: int
    update_us: int


@dataclass(frozen=True)
class Upsert:
    name: str
    parent: str
    collection_id: str
    doc: bytes
    create_us: int
    update_us: int


class DocumentStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self.lock = threading.RLock()
        self._last_commit_us = 0

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    def next_commit_micros(self) -> int:
        """A commit time strictly later than every earlier one (update times must never tie)."""
        with self.lock:
            self._last_commit_us = max(now_micros(), self._last_commit_us + 1)
            return self._last_commit_us

    # --- reads -------------------------------------------------------------------------------
    def get_many(self, names: Iterable[str]) -> dict[str, StoredDocument]:
        wanted = list(dict.fromkeys(names))
        found: dict[str, StoredDocument] = {}
        with self.lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT name, doc, create_us, update_us FROM documents WHERE name IN ({marks})", chunk
                ).fetchall()
                for row in rows:
                    found[row[0]] = StoredDocument(*row)
        return found

    def collection(self, parent: str, collection_id: str) -> list[bytes]:
        with self.lock:
            rows = self._conn.execute(
                "SELECT doc FROM documents WHERE parent = ? AND collection_id = ? ORDER BY name",
                (parent, collection_id),
            ).fetchall()
        return [r[0] for r in rows]

    def group(self, ancestor: str, collection_id: str | None) -> list[bytes]:
        """Every document below ``ancestor`` (any depth), optionally only in ``collection_id``."""
        low, high = ancestor + "/", ancestor + _AFTER_SLASH
        with self.lock:
            if collection_id is None:
                rows = self._conn.execute(
                    "SELECT doc FROM documents WHERE name >= ? AND name < ?", (low, high)
                ).fetchall()
            else:
                rows = self._conn.execute(
                    "SELECT doc FROM documents WHERE collection_id = ? AND name >= ? AND name < ?",
                    (collection_id, low, high),
                ).fetchall()
        return [r[0] for r in rows]

    def descendant_names(self, ancestor: str) -> Iterator[str]:
        low, high = ancestor + "/", ancestor + _AFTER_SLASH
        with self.lock:
            rows = self._conn.execute(
                "SELECT name FROM documents WHERE name >= ? AND name < ? ORDER BY name", (low, high)
            ).fetchall()
        return (r[0] for r in rows)

    # --- writes ------------------------------------------------------------------------------
    def apply(self, upserts: list[Upsert], deletes: list[str]) -> None:
        """Write everything in one SQLite transaction (all or nothing)."""
        with self.lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                if deletes:
                    conn.executemany("DELETE FROM documents WHERE name = ?", [(n,) for n in deletes])
                if upserts:
                    conn.executemany(
                        "INSERT OR REPLACE INTO documents"
                        " (name, parent, collection_id, doc, create_us, update_us) VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (u.name, u.parent, u.collection_id, u.doc, u.create_us, u.update_us)
                            for u in upserts
                        ],
                    )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
