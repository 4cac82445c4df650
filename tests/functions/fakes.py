"""In-memory implementations of the function ports, with just enough fidelity to catch misuse:
transactions must read before they write, batches are capped at 500 writes, object writes honour
generation preconditions and keep every generation readable."""

from __future__ import annotations

import builtins
import copy
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from rillflow_functions.ports import (
    MAX_BATCH_WRITES,
    Doc,
    GenerationMismatch,
    HttpReply,
    ObjectInfo,
    ObjectNotFound,
)

T = TypeVar("T")
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class DocChange:
    """One committed write, as a Firestore trigger would see it."""

    path: str
    old: Doc | None
    new: Doc | None
    update_time: datetime


class _TxnView:
    def __init__(self, store: InMemoryDocuments) -> None:
        self.store = store
        self.writes: list[tuple[str, Doc | None]] = []

    def get(self, path: str) -> Doc | None:
        if self.writes:
            raise AssertionError("Firestore transactions must do all reads before any write")
        return self.store.get(path)

    def set(self, path: str, data: Doc) -> None:
        self.writes.append((path, copy.deepcopy(data)))

    def delete(self, path: str) -> None:
        self.writes.append((path, None))


class InMemoryDocuments:
    def __init__(self) -> None:
        self.docs: dict[str, Doc] = {}
        self.changes: list[DocChange] = []
        self.batch_sizes: list[int] = []
        self.transactions = 0
        self._lock = threading.RLock()
        self._tick = 0

    def _commit(self, writes: Sequence[tuple[str, Doc | None]]) -> None:
        with self._lock:
            self._tick += 1
            when = EPOCH + timedelta(microseconds=self._tick)
            for path, data in writes:
                old = self.docs.get(path)
                if data is None:
                    self.docs.pop(path, None)
                else:
                    self.docs[path] = copy.deepcopy(data)
                self.changes.append(DocChange(path, copy.deepcopy(old), copy.deepcopy(data), when))

    def get(self, path: str) -> Doc | None:
        with self._lock:
            doc = self.docs.get(path)
            return copy.deepcopy(doc) if doc is not None else None

    def must(self, path: str) -> Doc:
        """The document, which the test expects to exist."""
        doc = self.get(path)
        assert doc is not None, f"{path} does not exist"
        return doc

    def create(self, path: str, data: Doc) -> bool:
        with self._lock:
            if path in self.docs:
                return False
            self._commit([(path, data)])
            return True

    def set(self, path: str, data: Doc) -> None:
        self._commit([(path, data)])

    def update(self, path: str, data: Doc) -> bool:
        with self._lock:
            if path not in self.docs:
                return False
            self._commit([(path, {**self.docs[path], **copy.deepcopy(data)})])
            return True

    def delete(self, path: str) -> None:
        self._commit([(path, None)])

    def write_batch(self, docs: Sequence[tuple[str, Doc]]) -> None:
        if len(docs) > MAX_BATCH_WRITES:
            raise AssertionError(f"batch of {len(docs)} writes exceeds {MAX_BATCH_WRITES}")
        self.batch_sizes.append(len(docs))
        self._commit(list(docs))

    def query_range(self, collection: str, field: str, start: Any, end: Any) -> list[tuple[str, Doc]]:
        with self._lock:
            out = []
            for path, doc in sorted(self.docs.items()):
                parent, _, doc_id = path.rpartition("/")
                value = doc.get(field)
                # as Firestore: a range matches values of its bounds' type only
                if parent == collection and isinstance(value, type(start)) and start <= value < end:
                    out.append((doc_id, copy.deepcopy(doc)))
            return out

    def query_equal(self, collection: str, field: str, value: Any) -> list[tuple[str, Doc]]:
        with self._lock:
            out = []
            for path, doc in sorted(self.docs.items()):
                parent, _, doc_id = path.rpartition("/")
                found: Any = doc
                for part in field.split("."):
                    found = found.get(part) if isinstance(found, dict) else None
                if (
                    parent == collection
                    and found is not None
                    and found == value
                    and type(found) is type(value)
                ):
                    out.append((doc_id, copy.deepcopy(doc)))
            return out

    def run_transaction(self, fn: Callable[[Any], T]) -> T:
        with self._lock:
            self.transactions += 1
            view = _TxnView(self)
            result = fn(view)
            if view.writes:
                self._commit(view.writes)
            return result

    def collection(self, name: str) -> dict[str, Doc]:
        prefix = name + "/"
        return {
            p[len(prefix) :]: copy.deepcopy(d)
            for p, d in self.docs.items()
            if p.startswith(prefix) and "/" not in p[len(prefix) :]
        }


@dataclass
class _Version:
    data: bytes
    content_type: str
    metadata: dict[str, str]


class InMemoryBucket:
    def __init__(self, bucket: str = "rillflow-lake") -> None:
        self.bucket = bucket
        self.live: dict[str, int] = {}
        self.versions: dict[tuple[str, int], _Version] = {}
        self.finalized: list[ObjectInfo] = []
        self._generation = 1_700_000_000_000_000
        self._lock = threading.RLock()

    def _info(self, name: str, generation: int) -> ObjectInfo:
        v = self.versions[(name, generation)]
        return ObjectInfo(self.bucket, name, generation, len(v.data), dict(v.metadata))

    def stat(self, name: str) -> ObjectInfo | None:
        with self._lock:
            gen = self.live.get(name)
            return None if gen is None else self._info(name, gen)

    def read(self, name: str, generation: int | None = None) -> bytes:
        with self._lock:
            gen = self.live.get(name) if generation is None else generation
            version = self.versions.get((name, gen)) if gen is not None else None
            if version is None or (generation is None and name not in self.live):
                raise ObjectNotFound(f"{name}#{generation}")
            return version.data

    def write(
        self,
        name: str,
        data: bytes,
        content_type: str,
        if_generation_match: int,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        with self._lock:
            if self.live.get(name, 0) != if_generation_match:
                raise GenerationMismatch(
                    f"{name}: live generation {self.live.get(name, 0)} != {if_generation_match}"
                )
            return self._put(name, data, content_type, dict(metadata or {}))

    def _put(self, name: str, data: bytes, content_type: str, metadata: dict[str, str]) -> ObjectInfo:
        self._generation += 1
        self.versions[(name, self._generation)] = _Version(bytes(data), content_type, metadata)
        self.live[name] = self._generation
        info = self._info(name, self._generation)
        self.finalized.append(info)
        return info

    def copy(self, name: str, generation: int, new_name: str) -> ObjectInfo:
        with self._lock:
            version = self.versions.get((name, generation))
            if version is None:
                raise ObjectNotFound(f"{name}#{generation}")
            return self._put(new_name, version.data, version.content_type, dict(version.metadata))

    def put_raw(self, name: str, data: bytes, metadata: Mapping[str, str] | None = None) -> ObjectInfo:
        """Upload unconditionally (a producer the tests control)."""
        with self._lock:
            return self._put(name, data, "application/octet-stream", dict(metadata or {}))

    def delete(self, name: str, if_generation_match: int | None = None) -> bool:
        with self._lock:
            if name not in self.live or if_generation_match not in (None, self.live[name]):
                return False
            del self.live[name]
            return True

    def names(self) -> list[str]:
        return sorted(self.live)

    def list(self, prefix: str) -> builtins.list[ObjectInfo]:
        with self._lock:
            return [self._info(n, g) for n, g in sorted(self.live.items()) if n.startswith(prefix)]


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, dict[str, str]]] = []

    def publish_all(self, topic: str, messages: Sequence[tuple[bytes, Mapping[str, str]]]) -> list[str]:
        ids = []
        for data, attrs in messages:
            self.published.append((topic, data, dict(attrs)))
            ids.append(str(len(self.published)))
        return ids


class RecordingWorkflows:
    def __init__(self, fail_times: int = 0) -> None:
        self.started: list[tuple[str, dict[str, Any]]] = []
        self.fail_times = fail_times

    def start(self, workflow: str, argument: Mapping[str, Any]) -> str:
        if self.fail_times > 0:
            self.fail_times -= 1
            raise ConnectionError("workflows unavailable")
        self.started.append((workflow, dict(argument)))
        return f"projects/p/locations/l/workflows/{workflow}/executions/{len(self.started)}"


@dataclass
class ScriptedStartupsApi:
    """Serves ``records`` in pages, filtered by ``updated_since`` (``>=``), after scripted failures."""

    records: list[dict[str, Any]]
    failures: list[HttpReply] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)

    def get_page(self, params: Mapping[str, str]) -> HttpReply:
        import json

        self.calls.append(dict(params))
        if self.failures:
            return self.failures.pop(0)
        since = params.get("updated_since")
        rows = [r for r in self.records if since is None or r["updated_at"] >= since]
        size = int(params.get("page_size", "100"))
        start = int(params.get("page_token", "0") or 0)
        page = rows[start : start + size]
        token = str(start + size) if start + size < len(rows) else None
        return HttpReply(
            200,
            {"Content-Type": "application/json"},
            json.dumps({"data": page, "next_page_token": token}).encode(),
        )


class FakeGenerators:
    """Small deterministic sources (the real generators are tested by their own suite)."""

    def __init__(
        self,
        orders: Callable[[date], list[Doc]],
        clicks: Callable[[date], list[Doc]] | None = None,
        app_events: Callable[[datetime, datetime, tuple[int, int]], list[Doc]] | None = None,
    ) -> None:
        self._orders = orders
        self._clicks = clicks or (lambda d: [])
        self._app_events = app_events or (lambda s, e, sh: [])

    def orders_for_day(self, day: date) -> list[Doc]:
        return self._orders(day)

    def clickstream_for_day(self, day: date) -> list[Doc]:
        return self._clicks(day)

    def app_events(
        self, start: datetime, end: datetime, shard: tuple[int, int], events_per_day: int | None = None
    ) -> list[Doc]:
        return self._app_events(start, end, shard)
