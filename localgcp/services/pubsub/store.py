"""Durable state of the Pub/Sub emulator: one SQLite file (WAL) under the service's data dir.

Resources (topics, subscriptions, schemas) are stored as their serialized protobufs and
mirrored in memory; the message log and per-subscription delivery state live in
``messages`` / ``deliveries`` (see :mod:`localgcp.services.pubsub.delivery`). One connection
guarded by one lock serializes every access: SQLite writes are serial anyway, and a single
connection avoids lock contention between the gRPC worker threads.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.pubsub_v1 import types as t

from localgcp.services.pubsub.errors import already_exists, invalid_argument, not_found
from localgcp.services.pubsub.schemas import CompiledSchema, compile_schema

TopicPb: Any = t.Topic.pb()
SubscriptionPb: Any = t.Subscription.pb()
SchemaPb: Any = t.Schema.pb()

DB_FILE = "pubsub.sqlite3"
DELETED_TOPIC = "_deleted-topic_"
DELETED_SCHEMA = "_deleted-schema_"
TABLES_SQL = """
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS topics(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL, pb BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions(
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL, topic_id INTEGER NOT NULL, pb BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS schemas(name TEXT PRIMARY KEY, pb BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, publish_time REAL NOT NULL, okey TEXT, blob BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_time ON messages(topic_id, publish_time);
CREATE TABLE IF NOT EXISTS deliveries(
  sub_id INTEGER NOT NULL, msg_id INTEGER NOT NULL, deadline REAL NOT NULL, attempts INTEGER NOT NULL, okey TEXT,
  PRIMARY KEY(sub_id, msg_id)) WITHOUT ROWID;
"""
INSERT_MESSAGE_SQL = "INSERT INTO messages(id, topic_id, publish_time, okey, blob) VALUES (?,?,?,?,?)"
INSERT_DELIVERY_SQL = "INSERT INTO deliveries(sub_id, msg_id, deadline, attempts, okey) VALUES (?,?,0,0,?)"

_ID = r"[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}"
_NAME = {
    kind: re.compile(rf"^projects/([^/]+)/{kind}/({_ID})$") for kind in ("topics", "subscriptions", "schemas")
}
_PROJECT = re.compile(r"^projects/[^/]+$")


def check_name(kind: str, name: str) -> str:
    """The project of a well-formed resource name; INVALID_ARGUMENT otherwise."""
    match = _NAME[kind].match(name)
    if not match or match.group(2).startswith("goog"):
        raise invalid_argument(
            f"Invalid resource name given (name={name}). Refer to the naming documentation."
        )
    return match.group(1)


def check_project(project: str) -> None:
    if not _PROJECT.match(project):
        raise invalid_argument(f"Invalid project name given (project={project}).")


def seconds(duration: Any) -> float:
    return float(duration.seconds) + duration.nanos / 1e9


@dataclass
class TopicRec:
    id: int
    pb: Any


@dataclass
class SubRec:
    id: int
    topic_id: int
    pb: Any

    @property
    def ordered(self) -> bool:
        return bool(self.pb.enable_message_ordering)

    @property
    def max_attempts(self) -> int:
        """Deliveries before dead-lettering; 0 when the subscription has no dead-letter policy."""
        policy = self.pb.dead_letter_policy
        return int(policy.max_delivery_attempts) if policy.dead_letter_topic else 0


class Store:
    """Connection, lock, change notification and the resource tables (with their in-memory mirror)."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(data_dir / DB_FILE), check_same_thread=False, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000", "cache_size=-65536"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(TABLES_SQL)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.version = 0
        self.closed = False
        self._open = True
        self.topics: dict[str, TopicRec] = {}
        self.subs: dict[str, SubRec] = {}
        self.schemas: dict[str, Any] = {}
        self.compiled: dict[str, CompiledSchema] = {}
        self._load()

    def _load(self) -> None:
        for tid, pb in self.db.execute("SELECT id, pb FROM topics"):
            topic = TopicPb.FromString(pb)
            self.topics[topic.name] = TopicRec(tid, topic)
        for sid, topic_id, pb in self.db.execute("SELECT id, topic_id, pb FROM subscriptions"):
            sub = SubscriptionPb.FromString(pb)
            self.subs[sub.name] = SubRec(sid, topic_id, sub)
        for (pb,) in self.db.execute("SELECT pb FROM schemas"):
            schema = SchemaPb.FromString(pb)
            self.schemas[schema.name] = schema
            self.compiled[schema.name] = compile_schema(schema.type_, schema.definition)
        row = self.db.execute("SELECT MAX(id) FROM messages").fetchone()
        stored = self.db.execute("SELECT v FROM meta WHERE k='next_id'").fetchone()
        self.next_id = max((row[0] or 0) + 1, stored[0] if stored else 1)
        # A restart drops every lease: the streams that held them are gone.
        self.db.execute("UPDATE deliveries SET deadline=0 WHERE deadline>0")

    def begin_shutdown(self) -> None:
        """Wake every waiting pull and stream so that they return; the database stays open."""
        with self.lock:
            self.closed = True
            self.changed.notify_all()

    def close(self) -> None:
        with self.lock:
            self.begin_shutdown()
            if self._open:
                self._open = False
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self.db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the store lock."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def notify(self) -> None:
        """Wake pullers (caller holds the lock): new messages, nacks, seeks."""
        self.version += 1
        self.changed.notify_all()

    def wait_change(self, version: int, timeout: float) -> None:
        with self.lock:
            if self.version == version and not self.closed:
                self.changed.wait(timeout)

    # -- topics ---------------------------------------------------------------------------------
    def topic(self, name: str) -> TopicRec:
        rec = self.topics.get(name)
        if rec is None:
            raise not_found("topic", name)
        return rec

    def check_topic_settings(self, topic: Any) -> None:
        settings = topic.schema_settings
        if settings.schema:
            if settings.schema not in self.schemas:
                raise not_found("schema", settings.schema)
            if settings.encoding not in (1, 2):
                raise invalid_argument("Topic schema_settings.encoding must be JSON or BINARY.")
        if topic.HasField("message_retention_duration"):
            retention = seconds(topic.message_retention_duration)
            if not 600 <= retention <= 31 * 86400:
                raise invalid_argument("message_retention_duration must be between 10 minutes and 31 days.")

    def create_topic(self, topic: Any) -> Any:
        check_name("topics", topic.name)
        self.check_topic_settings(topic)
        topic.state = 1  # ACTIVE
        with self.tx() as db:
            if topic.name in self.topics:
                raise already_exists("topic", topic.name)
            cur = db.execute(
                "INSERT INTO topics(name, pb) VALUES (?,?)", (topic.name, topic.SerializeToString())
            )
            self.topics[topic.name] = TopicRec(int(cur.lastrowid or 0), topic)
        return topic

    def save_topic(self, rec: TopicRec) -> None:
        with self.tx() as db:
            db.execute("UPDATE topics SET pb=? WHERE id=?", (rec.pb.SerializeToString(), rec.id))

    def delete_topic(self, name: str) -> None:
        with self.tx() as db:
            rec = self.topic(name)
            db.execute("DELETE FROM topics WHERE id=?", (rec.id,))
            del self.topics[name]
            for sub in self.subs.values():
                if sub.topic_id == rec.id:
                    sub.pb.topic = DELETED_TOPIC
                    db.execute(
                        "UPDATE subscriptions SET pb=? WHERE id=?", (sub.pb.SerializeToString(), sub.id)
                    )

    def subs_of_topic(self, topic_id: int) -> list[SubRec]:
        return [s for s in self.subs.values() if s.topic_id == topic_id and not s.pb.detached]

    # -- subscriptions --------------------------------------------------------------------------
    def sub(self, name: str) -> SubRec:
        rec = self.subs.get(name)
        if rec is None:
            raise not_found("subscription", name)
        return rec

    def create_subscription(self, sub: Any) -> Any:
        check_name("subscriptions", sub.name)
        with self.tx() as db:
            topic = self.topic(sub.topic)
            if sub.name in self.subs:
                raise already_exists("subscription", sub.name)
            cur = db.execute(
                "INSERT INTO subscriptions(name, topic_id, pb) VALUES (?,?,?)",
                (sub.name, topic.id, sub.SerializeToString()),
            )
            self.subs[sub.name] = SubRec(int(cur.lastrowid or 0), topic.id, sub)
        return sub

    def save_subscription(self, rec: SubRec) -> None:
        with self.tx() as db:
            db.execute("UPDATE subscriptions SET pb=? WHERE id=?", (rec.pb.SerializeToString(), rec.id))
            self.notify()

    def delete_subscription(self, name: str) -> None:
        with self.tx() as db:
            rec = self.sub(name)
            db.execute("DELETE FROM subscriptions WHERE id=?", (rec.id,))
            db.execute("DELETE FROM deliveries WHERE sub_id=?", (rec.id,))
            del self.subs[name]

    def detach_subscription(self, name: str) -> None:
        with self.tx() as db:
            rec = self.sub(name)
            rec.pb.detached = True
            db.execute("UPDATE subscriptions SET pb=? WHERE id=?", (rec.pb.SerializeToString(), rec.id))
            db.execute("DELETE FROM deliveries WHERE sub_id=?", (rec.id,))

    # -- schemas --------------------------------------------------------------------------------
    def create_schema(self, schema: Any) -> Any:
        check_name("schemas", schema.name)
        compiled = compile_schema(schema.type_, schema.definition)
        schema.revision_id = f"{time.time_ns() & 0xFFFFFFFF:08x}"
        schema.revision_create_time.GetCurrentTime()
        with self.tx() as db:
            if schema.name in self.schemas:
                raise already_exists("schema", schema.name)
            db.execute(
                "INSERT INTO schemas(name, pb) VALUES (?,?)", (schema.name, schema.SerializeToString())
            )
            self.schemas[schema.name] = schema
            self.compiled[schema.name] = compiled
        return schema

    def schema(self, name: str) -> Any:
        schema = self.schemas.get(name)
        if schema is None:
            raise not_found("schema", name)
        return schema

    def delete_schema(self, name: str) -> None:
        with self.tx() as db:
            self.schema(name)
            db.execute("DELETE FROM schemas WHERE name=?", (name,))
            del self.schemas[name]
            del self.compiled[name]
            for rec in self.topics.values():
                if rec.pb.schema_settings.schema == name:
                    rec.pb.schema_settings.schema = DELETED_SCHEMA
                    db.execute("UPDATE topics SET pb=? WHERE id=?", (rec.pb.SerializeToString(), rec.id))


def page(names: list[str], page_size: int, token: str) -> tuple[list[str], str]:
    """One page of sorted ``names`` after ``token`` (the last name of the previous page)."""
    ordered = sorted(n for n in names if n > token) if token else sorted(names)
    size = page_size if page_size > 0 else 1000
    chunk = ordered[:size]
    return chunk, (chunk[-1] if len(ordered) > size else "")
