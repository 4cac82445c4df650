"""Durable document storage: one SQLite file (WAL) in the service's data directory.

``documents`` holds the current version of each document: full resource name, parent (document
or database root), collection id, the whole ``google.firestore.v1.Document`` serialized (so reads
serve bytes unchanged), and create/update times in microseconds. ``history`` holds the versions a
commit replaced or deleted, each with the time it stopped being current (``end_us``), so reads at
a past ``read_time`` see the database as it was: a document's version at ``T`` is the current row
if its ``update_us <= T``, else the history row with ``update_us <= T < end_us``. History older
than the retention window (Firestore's one hour by default) is pruned; reads before the window
fail as the service's do ("too old"). One connection guarded by a lock: the emulator's writes are
serialized anyway, and a batch of 500 writes is one SQLite transaction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from localgcp.services.firestore.errors import failed_precondition, invalid
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
CREATE TABLE IF NOT EXISTS history (
    name TEXT NOT NULL,
    parent TEXT NOT NULL,
    collection_id TEXT NOT NULL,
    doc BLOB NOT NULL,
    create_us INTEGER NOT NULL,
    update_us INTEGER NOT NULL,
    end_us INTEGER NOT NULL,
    PRIMARY KEY (name, end_us)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS history_by_collection ON history (parent, collection_id, end_us);
CREATE INDEX IF NOT EXISTS history_by_end ON history (end_us);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
"""

#: one past "/" in byte order: ``prefix + "/"`` <= every descendant name < ``prefix + "0"``
_AFTER_SLASH = "0"
#: Firestore keeps one hour of versions for ``read_time`` reads (without point-in-time recovery)
DEFAULT_RETENTION_SECONDS = 3600.0
_PRUNE_EVERY_US = 60_000_000

# The rows of every document as of ``?`` (bound twice): current rows not newer than the time,
# and replaced versions that were current then. ``{where}`` narrows both halves alike.
_AS_OF = (
    "SELECT {cols} FROM documents WHERE update_us <= ? {where}"
    " UNION ALL SELECT {cols} FROM history WHERE update_us <= ? AND end_us > ? {where}"
)


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
    def __init__(self, path: Path, retention_seconds: float = DEFAULT_RETENTION_SECONDS) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self.lock = threading.RLock()
        self.retention_us = int(retention_seconds * 1_000_000)
        latest = self._conn.execute(
            "SELECT MAX(t) FROM (SELECT MAX(update_us) AS t FROM documents"
            " UNION ALL SELECT MAX(end_us) FROM history)"
        ).fetchone()[0]
        self._last_commit_us = int(latest or 0)
        # reads before this instant cannot be answered: history was pruned up to it, or began
        # then (a file written before history existed); a new, empty database knows all its past
        has_documents = self._conn.execute("SELECT 1 FROM documents LIMIT 1").fetchone() is not None
        self._conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('history_since_us', ?)",
            (now_micros() if has_documents else 0,),
        )
        self._history_since_us = int(
            self._conn.execute("SELECT value FROM meta WHERE key = 'history_since_us'").fetchone()[0]
        )
        self._last_prune_us = 0

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    def next_commit_micros(self) -> int:
        """A commit time strictly later than every earlier one (update times must never tie)."""
        with self.lock:
            self._last_commit_us = max(now_micros(), self._last_commit_us + 1)
            return self._last_commit_us

    def check_read_time(self, read_us: int) -> None:
        """A ``read_time`` the store can answer: not in the future, not before the retained history.

        Later commits are then guaranteed a time after ``read_us``, so the answer never changes."""
        with self.lock:
            now = now_micros()
            if read_us > max(now, self._last_commit_us):
                raise invalid("The requested 'read_time' cannot be in the future.")
            if read_us < max(self._history_since_us, now - self.retention_us):
                raise failed_precondition("The requested 'read_time' is too old.")
            self._last_commit_us = max(self._last_commit_us, read_us)

    # --- reads -------------------------------------------------------------------------------
    def _select(self, cols: str, where: str, params: tuple, read_us: int | None, order: str = "") -> list:
        with self.lock:
            if read_us is None:
                sql = f"SELECT {cols} FROM documents WHERE 1 {where} {order}"
                return self._conn.execute(sql, params).fetchall()
            sql = _AS_OF.format(cols=cols, where=where) + (f" {order}" if order else "")
            return self._conn.execute(sql, (read_us, *params, read_us, read_us, *params)).fetchall()

    def get_many(self, names: Iterable[str], read_us: int | None = None) -> dict[str, StoredDocument]:
        wanted = list(dict.fromkeys(names))
        found: dict[str, StoredDocument] = {}
        for start in range(0, len(wanted), 400):
            chunk = tuple(wanted[start : start + 400])
            marks = ",".join("?" * len(chunk))
            rows = self._select("name, doc, create_us, update_us", f"AND name IN ({marks})", chunk, read_us)
            for row in rows:
                found[row[0]] = StoredDocument(*row)
        return found

    def collection(self, parent: str, collection_id: str, read_us: int | None = None) -> list[bytes]:
        rows = self._select(
            "name, doc",
            "AND parent = ? AND collection_id = ?",
            (parent, collection_id),
            read_us,
            "ORDER BY name",
        )
        return [r[1] for r in rows]

    def group(self, ancestor: str, collection_id: str | None, read_us: int | None = None) -> list[bytes]:
        """Every document below ``ancestor`` (any depth), optionally only in ``collection_id``."""
        low, high = ancestor + "/", ancestor + _AFTER_SLASH
        if collection_id is None:
            rows = self._select("doc", "AND name >= ? AND name < ?", (low, high), read_us)
        else:
            rows = self._select(
                "doc", "AND collection_id = ? AND name >= ? AND name < ?", (collection_id, low, high), read_us
            )
        return [r[0] for r in rows]

    def descendant_names(self, ancestor: str, read_us: int | None = None) -> Iterator[str]:
        low, high = ancestor + "/", ancestor + _AFTER_SLASH
        rows = self._select("name", "AND name >= ? AND name < ?", (low, high), read_us, "ORDER BY name")
        return (r[0] for r in rows)

    # --- writes ------------------------------------------------------------------------------
    def apply(self, upserts: list[Upsert], deletes: list[str], commit_us: int | None = None) -> None:
        """Write everything in one SQLite transaction (all or nothing).

        The versions replaced or deleted move to ``history``, ending at ``commit_us``."""
        end_us = commit_us if commit_us is not None else self.next_commit_micros()
        replaced = [(end_us, n) for n in [*deletes, *(u.name for u in upserts)]]
        with self.lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                if replaced:
                    conn.executemany(
                        "INSERT OR REPLACE INTO history"
                        " (name, parent, collection_id, doc, create_us, update_us, end_us)"
                        " SELECT name, parent, collection_id, doc, create_us, update_us, ?"
                        " FROM documents WHERE name = ?",
                        replaced,
                    )
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
                self._maybe_prune(end_us)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _maybe_prune(self, now_us: int) -> None:
        """Drop versions that ended before the retention window (at most once a minute)."""
        if now_us - self._last_prune_us < _PRUNE_EVERY_US:
            return
        self._last_prune_us = now_us
        horizon = now_us - self.retention_us
        self._conn.execute("DELETE FROM history WHERE end_us < ?", (horizon,))
        if horizon > self._history_since_us:
            self._history_since_us = horizon
            self._conn.execute("UPDATE meta SET value = ? WHERE key = 'history_since_us'", (horizon,))
