"""``compact_app_events``: merge one day's small streaming files into one Parquet file.

The streaming pipeline writes a file per minute window (about 1,440 a day). Every reader of the
BigLake table lists every file of the history before it can prune by ``dt``, so after a few months
the listing costs more than the day's data. Once a day is over, the daily workflow calls this job:
the day's files become one ``compacted-<digest>.parquet`` and the inputs are deleted.

Nothing is lost at any point: an input is deleted only after a compacted file holding its rows is
durably written, and only at the generation that was read (a file rewritten meanwhile stays). The
compacted file lists, in its Parquet footer, every object it holds (transitively), so a re-run after
a crash between the write and the deletes finishes the deletes instead of copying those rows again.
The job is idempotent: the output name is a digest of its inputs and is written create-only, so a
repeated call finds the work done. Rows identical in every column are kept once, so a replayed day
(the same events published and written again beside the compacted file) compacts back to one
copy. Two overlapping runs racing with different inputs can at worst leave rows twice, which the
lake's contract already allows (delivery is at least once and staging de-duplicates by
``event_id``); rows are never dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rillflow_functions.lake_paths import PARQUET_CONTENT_TYPE
from rillflow_functions.ports import GenerationMismatch, ObjectInfo, ObjectNotFound, ObjectStore

APP_EVENTS_PREFIX = "lake/app_events/"
COMPACTED_PREFIX = "compacted-"
SOURCES_KEY = b"rillflow.compacted_from"


class CompactionError(RuntimeError):
    """The day's files cannot be merged (e.g. different schemas); nothing was changed."""


@dataclass
class DayCompaction:
    dt: str
    action: str  # compacted | finished | unchanged | empty
    inputs: int = 0
    rows: int = 0
    output: str | None = None
    deleted: list[str] = field(default_factory=list)


def day_prefix(day: date) -> str:
    return f"{APP_EVENTS_PREFIX}dt={day.isoformat()}/"


def is_compacted(name: str) -> bool:
    return name.rsplit("/", 1)[-1].startswith(COMPACTED_PREFIX)


def _key(obj: ObjectInfo) -> str:
    return f"{obj.name}#{obj.generation}"


def _sources(table_bytes: bytes) -> set[str]:
    meta = pq.ParquetFile(io.BytesIO(table_bytes)).schema_arrow.metadata or {}
    return set(json.loads(meta.get(SOURCES_KEY, b"[]")))


def _output_name(day: date, keys: list[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]
    return f"{day_prefix(day)}{COMPACTED_PREFIX}{digest}.parquet"


def _merge(tables: list[pa.Table], sources: set[str]) -> pa.Table:
    schema = tables[0].schema.remove_metadata()
    for t in tables[1:]:
        if not t.schema.remove_metadata().equals(schema):
            raise CompactionError(f"files of one day disagree on the schema: {schema} vs {t.schema}")
    merged = pa.concat_tables([t.replace_schema_metadata(None) for t in tables])
    first = [c for c in ("event_ts", "event_id") if c in merged.column_names]
    rest = [c for c in merged.column_names if c not in first]
    merged = _drop_repeated_rows(merged.sort_by([(c, "ascending") for c in first + rest]))
    return merged.replace_schema_metadata({SOURCES_KEY: json.dumps(sorted(sources)).encode()})


def _drop_repeated_rows(table: pa.Table) -> pa.Table:
    """Keep one copy of rows that are identical in every column (``table`` sorted on all columns,
    so copies are adjacent). A replayed day re-publishes the same events and the streaming job
    writes them again beside the day's compacted file: merging the two must not double the day.
    Rows that differ in any column are all kept (nothing is dropped on a guess)."""
    if table.num_rows < 2:
        return table
    same = None
    for column in table.columns:
        col = column.combine_chunks()
        later, earlier = col.slice(1), col.slice(0, len(col) - 1)
        equal = pc.or_(
            pc.fill_null(pc.equal(later, earlier), False),
            pc.and_(pc.is_null(later), pc.is_null(earlier)),
        )
        same = equal if same is None else pc.and_(same, equal)
    keep = pa.concat_arrays([pa.array([True]), pc.invert(same)])
    return table if pc.all(keep).as_py() else table.filter(keep)


#: object reads and deletes in flight at once: a day is ~1,440 small objects, and one request at a
#: time spends the job in round trips (the Cloud Storage client is safe to share between threads)
PARALLEL_REQUESTS = 16


def _delete_all(lake: ObjectStore, objects: list[ObjectInfo]) -> list[str]:
    with ThreadPoolExecutor(PARALLEL_REQUESTS) as pool:
        done = list(pool.map(lambda o: lake.delete(o.name, if_generation_match=o.generation), objects))
    return [o.name for o, ok in zip(objects, done, strict=True) if ok]


def compact_day(lake: ObjectStore, day: date) -> DayCompaction:
    """Merge every Parquet object of ``day``'s folder into one; see the module docstring."""
    objects = [o for o in lake.list(day_prefix(day)) if o.name.endswith(".parquet")]
    result = DayCompaction(day.isoformat(), "empty" if not objects else "unchanged", len(objects))
    if len(objects) <= 1:
        return result
    payloads: dict[str, bytes] = {}

    def read(obj: ObjectInfo) -> bool:
        try:
            payloads[_key(obj)] = lake.read(obj.name, obj.generation)
        except ObjectNotFound:  # only compaction deletes lake files: its output holds the rows
            return False
        return True

    compacted = [o for o in objects if is_compacted(o.name) and read(o)]
    covered = set().union(*(_sources(payloads[_key(o)]) for o in compacted))
    leftovers = [o for o in objects if _key(o) in covered]
    candidates = [o for o in objects if _key(o) not in covered and _key(o) not in payloads]
    with ThreadPoolExecutor(PARALLEL_REQUESTS) as pool:
        list(pool.map(read, candidates))
    inputs = [o for o in objects if _key(o) not in covered and _key(o) in payloads]
    if len(inputs) <= 1:  # at most: an earlier run wrote its output and stopped before its deletes
        if leftovers:
            result.action, result.deleted = "finished", _delete_all(lake, leftovers)
        return result
    tables = [pq.read_table(io.BytesIO(payloads[_key(o)])) for o in inputs]
    sources = covered | {_key(o) for o in inputs}
    merged = _merge(tables, sources)
    expected = merged.num_rows
    buf = io.BytesIO()
    pq.write_table(merged, buf, compression="zstd")
    output = _output_name(day, [_key(o) for o in inputs])
    with contextlib.suppress(GenerationMismatch):  # an earlier delivery compacted the same inputs
        lake.write(
            output,
            buf.getvalue(),
            PARQUET_CONTENT_TYPE,
            if_generation_match=0,
            metadata={"rows": str(expected)},
        )
    result.action, result.rows, result.output = "compacted", expected, output
    result.inputs = len(inputs)
    result.deleted = _delete_all(lake, inputs + leftovers)
    return result


def compact_days(lake: ObjectStore, last_day: date, days: int) -> dict[str, object]:
    """Compact ``last_day`` and the ``days - 1`` days before it (late files land in closed days)."""
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    results = [compact_day(lake, last_day - timedelta(days=i)) for i in reversed(range(days))]
    return {
        "date": last_day.isoformat(),
        "days": [asdict(r) for r in results],
        "rows": sum(r.rows for r in results),
        "deleted": sum(len(r.deleted) for r in results),
    }
