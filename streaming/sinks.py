"""Where the pipeline's outputs go, chosen once from the pipeline options.

* :class:`LakeStore` — the lake: ``gs://bucket[/prefix]`` through google-cloud-storage (in the
  cloud, and locally against the storage emulator, so each file finalizes as a GCS object and
  fires its storage event), or a plain local directory (tests, benchmarks).
* :class:`WarehouseTarget` — the warehouse: BigQuery in the cloud, the local DuckDB file
  otherwise; both through :mod:`rillflow.warehouse`, merged on the aggregate's key.
* :class:`DeadLetterTopic` — the Pub/Sub dead-letter topic.

The transforms receive these objects and call them; they never look at the options
themselves. Everything here is picklable (clients are opened lazily on the worker).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from streaming.decode import from_micros

#: object-name prefixes inside the lake
EVENTS_PREFIX = "lake/app_events"
DEADLETTER_PREFIX = "deadletter/app_events"

APP_EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("event_ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("user_id", pa.string(), nullable=False),
        pa.field("country", pa.string(), nullable=False),
        pa.field("platform", pa.string(), nullable=False),
        pa.field("app_id", pa.string(), nullable=False),
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("session_id", pa.string(), nullable=False),
        pa.field("price", pa.float64()),
        pa.field("currency", pa.string()),
        pa.field("revenue_usd", pa.float64()),
        pa.field("rating", pa.int32()),
        pa.field("app_version", pa.string(), nullable=False),
        pa.field("device", pa.string(), nullable=False),
        pa.field("os_version", pa.string(), nullable=False),
    ]
)

HOURLY_TABLE = ("streaming", "app_events_hourly")
HOURLY_KEY = ("window_start", "country", "platform", "event_type")
HOURLY_SCHEMA = pa.schema(
    [
        pa.field("window_start", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("country", pa.string(), nullable=False),
        pa.field("platform", pa.string(), nullable=False),
        pa.field("event_type", pa.string(), nullable=False),
        pa.field("event_count", pa.int64(), nullable=False),
        pa.field("revenue_usd", pa.float64(), nullable=False),
        pa.field("updated_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


# --- tables and object names -------------------------------------------------------------------------


def events_table(events: Iterable[dict[str, Any]]) -> pa.Table:
    """AppEvent records as an Arrow table (the lake's Parquet schema)."""
    return pa.Table.from_pylist(list(events), schema=APP_EVENT_SCHEMA)


def parquet_bytes(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def content_digest(ids: Iterable[str]) -> str:
    """Order-independent digest of a set of ids: the same pane content gives the same name."""
    h = hashlib.sha256()
    for i in sorted(ids):
        h.update(i.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()[:16]


def lake_object_name(window_start_us: int, shard: int, event_ids: Iterable[str]) -> str:
    """``lake/app_events/dt=YYYY-MM-DD/part-<YYYYMMDDTHHMM>-<shard>-<digest>.parquet``.

    Deterministic per window pane: the name depends on the window, the shard and the set of
    events in the pane, so re-processing the same input rewrites the same objects. The lake is
    partitioned by day only: the daily ``compact_app_events`` job merges a closed day's minute
    files into one, and an hour level would keep 24 folders a day for every reader to list.
    """
    ws = from_micros(window_start_us)
    return (
        f"{EVENTS_PREFIX}/dt={ws:%Y-%m-%d}/"
        f"part-{ws:%Y%m%dT%H%M}-{shard:03d}-{content_digest(event_ids)}.parquet"
    )


def deadletter_object_name(dt: str, records: Sequence[dict[str, Any]]) -> str:
    """``deadletter/app_events/dt=YYYY-MM-DD/part-<digest>.jsonl`` (deterministic per content)."""
    ids = (
        f"{r.get('kind')}|{r.get('message_id')}|{r.get('event_id')}|{r.get('payload_b64')[:64]}"  # type: ignore[index]
        for r in records
    )
    return f"{DEADLETTER_PREFIX}/dt={dt}/part-{content_digest(ids)}.jsonl"


def deadletter_dt(record: dict[str, Any]) -> str:
    """The day a dead letter is filed under: its event's day, else its message's, else today.

    An event rejected for its very ``event_ts`` (out of range) is filed under its message's day:
    its own would be a partition decades away that nobody reads."""
    keys: tuple[str, ...] = ("event_ts", "publish_time")
    if record.get("kind") == "invalid" and record.get("field") == "event_ts":
        keys = ("publish_time",)
    for key in keys:
        if record.get(key):
            return str(record[key])[:10]
    return datetime.now(UTC).strftime("%Y-%m-%d")


def jsonl_bytes(records: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(
        json.dumps(r, sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\n" for r in records
    )


def hourly_table(window_start_us: int, totals: dict[tuple[str, str, str], list[float]]) -> pa.Table:
    """Rows of ``streaming.app_events_hourly`` for one window from ``{(country, platform, type): [count, revenue]}``."""
    keys = sorted(totals)
    now = datetime.now(UTC)
    return pa.Table.from_pydict(
        {
            "window_start": pa.array([window_start_us] * len(keys), pa.int64()).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "country": [k[0] for k in keys],
            "platform": [k[1] for k in keys],
            "event_type": [k[2] for k in keys],
            "event_count": [int(totals[k][0]) for k in keys],
            "revenue_usd": [float(totals[k][1]) for k in keys],
            "updated_at": [now] * len(keys),
        },
        schema=HOURLY_SCHEMA,
    )


# --- the lake ----------------------------------------------------------------------------------------


class LakeStore(Protocol):
    @property
    def uri(self) -> str: ...

    def put(self, name: str, data: bytes, content_type: str) -> str:
        """Write one object (whole, atomically) and return its full URI."""
        ...


@dataclass
class LocalLakeStore:
    """A directory standing in for the lake bucket (tests, benchmarks)."""

    root: str

    @property
    def uri(self) -> str:
        return self.root

    def put(self, name: str, data: bytes, content_type: str) -> str:
        path = Path(self.root) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)  # readers never see a half-written file
        return str(path)


@dataclass
class GcsLakeStore:
    """The lake bucket through google-cloud-storage (STORAGE_EMULATOR_HOST is honoured locally)."""

    bucket: str
    prefix: str = ""
    project: str | None = None
    _client: Any = field(default=None, init=False, repr=False, compare=False)

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.prefix}".rstrip("/")

    def __getstate__(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "prefix": self.prefix, "project": self.project, "_client": None}

    def _bucket(self) -> Any:
        if self._client is None:
            from google.cloud.storage import Client

            self._client = Client(project=self.project)
        return self._client.bucket(self.bucket)

    def put(self, name: str, data: bytes, content_type: str) -> str:
        object_name = f"{self.prefix.strip('/')}/{name}" if self.prefix.strip("/") else name
        self._bucket().blob(object_name).upload_from_string(data, content_type=content_type)
        return f"gs://{self.bucket}/{object_name}"


def lake_store(uri: str, project: str | None = None) -> LakeStore:
    """``gs://bucket[/prefix]`` → :class:`GcsLakeStore`; anything else is a local directory."""
    if uri.startswith("gs://"):
        bucket, _, prefix = uri[len("gs://") :].partition("/")
        return GcsLakeStore(bucket, prefix, project)
    return LocalLakeStore(str(Path(uri).resolve()))


# --- the warehouse -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarehouseTarget:
    """Which warehouse the hourly aggregates are merged into (opened on the worker)."""

    kind: str  # "duckdb" | "bigquery"
    dataset: str = HOURLY_TABLE[0]
    table: str = HOURLY_TABLE[1]
    duckdb_path: str | None = None
    project: str | None = None
    location: str | None = None

    def open(self) -> Any:
        from rillflow.warehouse import BigQueryWarehouse, DuckDBWarehouse

        if self.kind == "duckdb":
            if not self.duckdb_path:
                raise ValueError("the duckdb warehouse needs --duckdb_path")
            return DuckDBWarehouse(Path(self.duckdb_path))
        if self.kind == "bigquery":
            if not self.project:
                raise ValueError("the bigquery warehouse needs a project")
            return BigQueryWarehouse(self.project, self.location or "US")
        raise ValueError(f"unknown warehouse {self.kind!r}: bigquery or duckdb")

    def merge_hourly(self, warehouse: Any, table: pa.Table) -> int:
        return int(warehouse.write(self.dataset, self.table, table, mode="merge", key=list(HOURLY_KEY)))


# --- the dead-letter topic ---------------------------------------------------------------------------


@dataclass
class DeadLetterTopic:
    """Publishes dead-letter records (JSON) to a Pub/Sub topic, attributes saying why."""

    topic: str  # projects/<p>/topics/<t>
    _publisher: Any = field(default=None, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {"topic": self.topic, "_publisher": None}

    def publish(self, records: Sequence[dict[str, Any]], timeout_s: float = 60.0) -> int:
        if self._publisher is None:
            from google.cloud.pubsub_v1 import PublisherClient

            self._publisher = PublisherClient()
        futures = [
            self._publisher.publish(
                self.topic,
                json.dumps(r, sort_keys=True).encode("utf-8"),
                kind=str(r.get("kind")),
                field=str(r.get("field")),
                reason=str(r.get("reason"))[:1024],
                source_message_id=str(r.get("message_id") or ""),
            )
            for r in records
        ]
        for f in futures:
            f.result(timeout=timeout_s)
        return len(futures)
