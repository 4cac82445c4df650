"""Listen: the watch protocol behind the client's ``on_snapshot`` (documents, queries, collections).

One :class:`ListenStream` serves one bidirectional ``Listen`` call. The client adds targets
(document names or a structured query, each with a client-chosen id, optionally a resume token
or a read time) and removes them; the stream answers as the service does:

* on add: ``TargetChange ADD``, a ``DocumentChange`` per matching document, ``TargetChange
  CURRENT`` (with a resume token), then a global ``NO_CHANGE`` carrying ``read_time`` — the
  consistent point at which the client raises a snapshot;
* after each commit that touches a target: ``DocumentChange`` for documents that entered or
  changed, ``DocumentDelete`` for deleted ones and ``DocumentRemove`` for ones that no longer
  match, then a global ``NO_CHANGE`` with the commit's time and a fresh resume token;
* on resume (a token or ``read_time`` the store still has history for): only the differences
  between the result then and now; otherwise ``RESET`` and the whole result again;
* an invalid target: ``TargetChange REMOVE`` with the error as ``cause``; ``once`` targets are
  removed once current.

Commits reach every open stream through the :class:`WatchHub`: the provider publishes the names a
commit changed while it still holds the store lock, so each stream sees commits in order and none
is missed between a target's first snapshot and the next commit. Targets are re-evaluated against
the store (under its lock, so the state is exactly "after the latest commit") and diffed against
what the client was last sent, which keeps limits, orders and cursors right without incremental
query maintenance.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.cloud.firestore_v1.types import firestore as fs

from localgcp.services.firestore.errors import FirestoreError, invalid
from localgcp.services.firestore.query import run_structured_query
from localgcp.services.firestore.store import DocumentStore
from localgcp.services.firestore.values import (
    Document,
    check_id,
    database_root,
    set_timestamp,
    split_name,
    timestamp_micros,
)

log = logging.getLogger(__name__)
ListenResponse = fs.ListenResponse.pb()
_TargetChange = fs.TargetChange.pb()
_TOKEN_PREFIX = b"lgcp-watch:"
_POLL_SECONDS = 0.5


def resume_token(read_us: int) -> bytes:
    return _TOKEN_PREFIX + read_us.to_bytes(8, "big")


def token_time(token: bytes) -> int | None:
    """The time a resume token stands for, or None when it is not one of ours."""
    if len(token) != len(_TOKEN_PREFIX) + 8 or not token.startswith(_TOKEN_PREFIX):
        return None
    return int.from_bytes(token[len(_TOKEN_PREFIX) :], "big")


@dataclass(frozen=True)
class Commit:
    commit_us: int
    names: tuple[str, ...]


class WatchHub:
    """Fan-out of committed changes to the open Listen streams."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: set[queue.SimpleQueue] = set()

    def subscribe(self) -> queue.SimpleQueue:
        q: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            self._queues.add(q)
        return q

    def unsubscribe(self, q: queue.SimpleQueue) -> None:
        with self._lock:
            self._queues.discard(q)

    def publish(self, commit_us: int, names: Iterable[str]) -> None:
        """Called by the provider inside the store lock, right after a commit is applied."""
        commit = Commit(commit_us, tuple(names))
        if not commit.names:
            return
        with self._lock:
            for q in self._queues:
                q.put(commit)


@dataclass
class _Target:
    id: int
    once: bool
    documents: frozenset[str] = frozenset()
    parent: str = ""
    query: Any = None
    #: what the client was last sent: document name -> update time (microseconds)
    known: dict[str, int] = field(default_factory=dict)
    as_of: int = 0

    def covers(self, name: str) -> bool:
        """Could a change to document ``name`` alter this target's result?"""
        if self.query is None:
            return name in self.documents
        _, parent, collection_id = split_name(name)
        selector = self.query.from_[0]
        if selector.collection_id and selector.collection_id != collection_id:
            return False
        if selector.all_descendants:
            return name.startswith(self.parent + "/")
        return parent == self.parent

    def evaluate(self, store: DocumentStore, read_us: int | None = None) -> dict[str, Any]:
        """The target's documents (name -> Document) now, or as of ``read_us``."""
        if self.query is None:
            rows = store.get_many(sorted(self.documents), read_us)
            return {name: Document.FromString(row.doc) for name, row in rows.items()}
        docs = run_structured_query(store, self.parent, self.query, read_us)
        return {doc.name: doc for doc in docs}


def _parse_target(target: Any, target_id: int) -> _Target:
    kind = target.WhichOneof("target_type")
    parsed = _Target(id=target_id, once=target.once)
    if kind == "documents":
        names = list(target.documents.documents)
        if not names:
            raise invalid("a documents target needs at least one document name")
        for name in names:
            split_name(name)
        parsed.documents = frozenset(names)
    elif kind == "query":
        if not target.query.HasField("structured_query"):
            raise invalid("a query target needs a structured query")
        database_root(target.query.parent)
        query = target.query.structured_query
        if len(query.from_) != 1:
            raise invalid("a structured query must select exactly one collection")
        if query.from_[0].collection_id:
            check_id(query.from_[0].collection_id, "Collection")
        parsed.parent, parsed.query = target.query.parent, query
    else:
        raise invalid("a target needs documents or a query")
    return parsed


class ListenStream:
    """One Listen call: reads requests on a helper thread, yields responses from the caller's."""

    def __init__(self, store: DocumentStore, hub: WatchHub, requests: Iterator[Any], context: Any) -> None:
        self.store = store
        self.hub = hub
        self.requests = requests
        self.context = context
        self.targets: dict[int, _Target] = {}
        self._next_id = 1
        self._events = hub.subscribe()

    # --- plumbing ----------------------------------------------------------------------------
    def _read_requests(self) -> None:
        try:
            for request in self.requests:
                self._events.put(request)
        except Exception:  # the client went away; the stream ends either way
            log.debug("Listen request stream ended with an error", exc_info=True)
        finally:
            self._events.put(None)

    def responses(self) -> Iterator[Any]:
        threading.Thread(target=self._read_requests, name="firestore-listen", daemon=True).start()
        self.context.add_callback(lambda: self._events.put(None))
        try:
            while True:
                try:
                    event = self._events.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    if not self.context.is_active():
                        return
                    continue
                batch = [event]
                while True:  # take whatever else is queued: one evaluation for a burst of commits
                    try:
                        batch.append(self._events.get_nowait())
                    except queue.Empty:
                        break
                out: list[Any] = []
                commits: list[Commit] = []
                for item in batch:
                    if isinstance(item, Commit):
                        commits.append(item)
                        continue
                    out.extend(self._after_commits(commits))
                    commits = []
                    if item is None:
                        yield from out
                        return
                    out.extend(self._on_request(item))
                out.extend(self._after_commits(commits))
                yield from out
        finally:
            self.hub.unsubscribe(self._events)

    # --- requests ----------------------------------------------------------------------------
    def _on_request(self, request: Any) -> list[Any]:
        kind = request.WhichOneof("target_change")
        if kind == "remove_target":
            self.targets.pop(request.remove_target, None)
            return [_target_change(_TargetChange.REMOVE, [request.remove_target])]
        if kind != "add_target":
            return []
        target = request.add_target
        target_id = target.target_id
        if target_id == 0:
            while self._next_id in self.targets:
                self._next_id += 1
            target_id = self._next_id
        if target_id in self.targets:
            raise invalid(f"Target ID {target_id} already exists.")
        try:
            return self._first_snapshot(_parse_target(target, target_id), target)
        except FirestoreError as exc:
            change = _target_change(_TargetChange.REMOVE, [target_id])
            change.target_change.cause.code = exc.code.value[0]
            change.target_change.cause.message = exc.message
            return [_target_change(_TargetChange.ADD, [target_id]), change]

    def _first_snapshot(self, target: _Target, request: Any) -> list[Any]:
        since = self._resume_time(request)
        if since is not None:  # what the client holds: the result as of its token
            previous = target.evaluate(self.store, since)
            target.known = {name: timestamp_micros(doc.update_time) for name, doc in previous.items()}
        out: list[Any] = [_target_change(_TargetChange.ADD, [target.id])]
        if request.WhichOneof("resume_type") and since is None:
            # cannot resume from there: the client drops what it holds and gets everything again
            out.append(_target_change(_TargetChange.RESET, [target.id]))
        # the other targets come along to the same time, so the NO_CHANGE below is true of them all
        read_us, changes = self._refresh([target, *self.targets.values()])
        out.extend(changes)
        out.append(_target_change(_TargetChange.CURRENT, [target.id], read_us))
        out.append(_target_change(_TargetChange.NO_CHANGE, [], read_us))
        if target.once:
            out.append(_target_change(_TargetChange.REMOVE, [target.id]))
        else:
            self.targets[target.id] = target
        return out

    def _resume_time(self, request: Any) -> int | None:
        """The time the client's result is from (token or read_time), when history still has it."""
        which = request.WhichOneof("resume_type")
        if which == "resume_token":
            since = token_time(request.resume_token)
        elif which == "read_time":
            since = timestamp_micros(request.read_time)
        else:
            return None
        if since is None:
            return None
        try:
            self.store.check_read_time(since)
        except FirestoreError:
            return None
        return since

    # --- commits -----------------------------------------------------------------------------
    def _after_commits(self, commits: list[Commit]) -> list[Any]:
        if not commits or not self.targets:
            return []
        touched: dict[int, _Target] = {}
        for commit in commits:
            for target in self.targets.values():
                if commit.commit_us > target.as_of and any(target.covers(n) for n in commit.names):
                    touched[target.id] = target
        if not touched:
            return []
        read_us, out = self._refresh(list(touched.values()))
        if out:
            out.append(_target_change(_TargetChange.NO_CHANGE, [], read_us))
        return out

    def _refresh(self, targets: list[_Target]) -> tuple[int, list[Any]]:
        """Evaluate ``targets`` right after the latest commit; the changes to send, and that time."""
        with self.store.lock:  # no commit in between: one consistent state for every target
            read_us = self.store.next_commit_micros()
            results = []
            for target in targets:
                current = target.evaluate(self.store)
                results.append((target, current, self._existing(target, target.known, current)))
        out: list[Any] = []
        for target, current, existing in results:
            out.extend(self._diff(target, current, existing, read_us))
            target.as_of = read_us
        return read_us, out

    def _existing(self, target: _Target, before: dict[str, int], current: dict[str, Any]) -> set[str]:
        """Of the documents leaving the target, those that still exist (removed, not deleted)."""
        leaving = [name for name in before if name not in current]
        if not leaving or target.query is None:
            return set()
        return set(self.store.get_many(leaving))

    def _diff(self, target: _Target, current: dict[str, Any], existing: set[str], read_us: int) -> list[Any]:
        out: list[Any] = []
        for name, doc in current.items():
            if target.known.get(name) == timestamp_micros(doc.update_time):
                continue
            response = ListenResponse()
            response.document_change.document.CopyFrom(doc)
            response.document_change.target_ids.append(target.id)
            out.append(response)
        for name in [n for n in target.known if n not in current]:
            response = ListenResponse()
            gone = response.document_remove if name in existing else response.document_delete
            gone.document = name
            gone.removed_target_ids.append(target.id)
            set_timestamp(gone.read_time, read_us)
            out.append(response)
        target.known = {name: timestamp_micros(doc.update_time) for name, doc in current.items()}
        return out


def _target_change(kind: int, target_ids: list[int], read_us: int | None = None) -> Any:
    response = ListenResponse()
    change = response.target_change
    change.target_change_type = kind  # type: ignore[assignment]
    change.target_ids.extend(target_ids)
    if read_us is not None:
        change.resume_token = resume_token(read_us)
        set_timestamp(change.read_time, read_us)
    return response
