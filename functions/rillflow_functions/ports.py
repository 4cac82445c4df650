"""The small interfaces the function logic is written against.

Each port is implemented once over the official Google client library (``gcp_adapters``) and
once in memory for tests. Logic never sees a Google client, so it is tested on plain data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Doc = dict[str, Any]

#: Firestore's limit on writes per batch / commit.
MAX_BATCH_WRITES = 500


class ObjectNotFound(LookupError):
    """The object (or the requested generation of it) does not exist."""


class GenerationMismatch(RuntimeError):
    """A write's generation precondition failed (someone else wrote the object first)."""


@dataclass(frozen=True)
class ObjectInfo:
    """What the logic needs to know about one stored object."""

    bucket: str
    name: str
    generation: int
    size: int
    metadata: Mapping[str, str] = field(default_factory=dict)


class TransactionView(Protocol):
    """Reads and writes inside one transaction; all reads must come before the first write."""

    def get(self, path: str) -> Doc | None: ...

    def set(self, path: str, data: Doc) -> None: ...

    def delete(self, path: str) -> None: ...


class DocumentStore(Protocol):
    """Firestore, reduced to what the functions use. Paths are ``collection/id[/sub/id...]``."""

    def get(self, path: str) -> Doc | None: ...

    def create(self, path: str, data: Doc) -> bool:
        """Create the document; False (and no write) when it already exists."""

    def set(self, path: str, data: Doc) -> None: ...

    def update(self, path: str, data: Doc) -> bool:
        """Set top-level fields of an existing document; False when it does not exist."""

    def delete(self, path: str) -> None: ...

    def write_batch(self, docs: Sequence[tuple[str, Doc]]) -> None:
        """Set up to :data:`MAX_BATCH_WRITES` documents atomically (one commit)."""

    def query_range(self, collection: str, field: str, start: Any, end: Any) -> list[tuple[str, Doc]]:
        """Documents with ``start <= field < end``, as (document id, data)."""

    def query_equal(self, collection: str, field: str, value: Any) -> list[tuple[str, Doc]]:
        """Documents whose ``field`` (a dotted path into maps) equals ``value``, as (id, data)."""

    def run_transaction(self, fn: Callable[[TransactionView], T]) -> T:
        """Run ``fn`` in a read-write transaction (retried on contention, so ``fn`` must be pure)."""


class ObjectStore(Protocol):
    """One Cloud Storage bucket, reduced to what the functions use."""

    bucket: str

    def stat(self, name: str) -> ObjectInfo | None: ...

    def read(self, name: str, generation: int | None = None) -> bytes: ...

    def write(
        self,
        name: str,
        data: bytes,
        content_type: str,
        if_generation_match: int,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Upload under a generation precondition (0 = must not exist); GenerationMismatch if it fails."""

    def copy(self, name: str, generation: int, new_name: str) -> ObjectInfo: ...

    def list(self, prefix: str) -> list[ObjectInfo]:
        """The live objects whose names start with ``prefix``, by name."""

    def delete(self, name: str, if_generation_match: int) -> bool:
        """Delete that generation; False when it is gone already or was replaced by a newer one."""


class MessagePublisher(Protocol):
    def publish_all(self, topic: str, messages: Sequence[tuple[bytes, Mapping[str, str]]]) -> list[str]:
        """Publish every message and wait for all of them; the server's message ids in order."""


class WorkflowLauncher(Protocol):
    def start(self, workflow: str, argument: Mapping[str, Any]) -> str:
        """Start one execution; its resource name."""


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: Mapping[str, str]
    body: bytes


class StartupsApi(Protocol):
    def get_page(self, params: Mapping[str, str]) -> HttpReply:
        """One ``GET /v1/startups`` call (no retries: the caller decides)."""


class Generators(Protocol):
    """The synthetic sources (``rillflow.generators``) behind the generating functions."""

    def orders_for_day(self, day: date) -> list[Doc]: ...

    def clickstream_for_day(self, day: date) -> list[Doc]: ...

    def app_events(
        self, start: datetime, end: datetime, shard: tuple[int, int], events_per_day: int | None = None
    ) -> list[Doc]: ...


def chunked(items: Iterable[T], size: int) -> list[list[T]]:
    """Consecutive chunks of at most ``size`` items."""
    if size <= 0:
        raise ValueError("chunk size must be positive")
    out: list[list[T]] = []
    for item in items:
        if not out or len(out[-1]) == size:
            out.append([])
        out[-1].append(item)
    return out
