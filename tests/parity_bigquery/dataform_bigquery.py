"""Run a compiled Dataform graph on a BigQuery API (the emulator) the way Dataform runs it.

Every action's SQL is sent unchanged as query jobs through the official client, wrapped the way
Dataform's BigQuery adapter wraps it (read from ``@dataform/cli``'s behaviour, not its code):

* table / view / incremental (first run): ``preOps``, ``drop <other type> if exists`` when the
  target exists as the other type, ``create or replace table|view <target> [partition by ...]
  [cluster by ...] as <query>``, ``postOps``, concatenated into one script job;
* incremental (target exists): ``incrementalPreOps``, then ``merge`` on ``uniqueKey`` (or
  ``insert into``) with the target's columns, ``incrementalPostOps``, one script job;
* assertion: ``create or replace view`` of its query, then ``select sum(1) as row_count`` from it;
  rows mean the assertion failed;
* operations: each query is its own job; declaration: the target must exist.

The emulator has no ``CREATE EXTERNAL TABLE``: an operation that declares one is still sent (so a
future emulator that accepts it shows up), and its files are then loaded from the local lake into a
table of the same name (:func:`load_external_table`), so that the actions downstream run.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from google.api_core.exceptions import NotFound
from google.cloud import bigquery

from harness.dataform.external import ExternalTable, is_external_table, local_glob, parse_external_table
from harness.dataform.graph import Action, Graph, Target, parse_graph


@dataclass
class Outcome:
    name: str
    kind: str
    status: str  # success | failed | skipped
    error: str = ""
    failing_rows: int | None = None
    seconds: float = 0.0
    #: for an incremental table: whether it took the incremental path (merge) rather than a rebuild
    incremental: bool = False


class BigQueryDataform:
    """Executes actions on one BigQuery client; ``call`` holds the per-call retry options."""

    def __init__(
        self,
        client: bigquery.Client,
        compiled: dict[str, Any],
        bucket_dir: Callable[[str], Path],
        location: str,
        retry: Any,
        job_retry: Any,
    ) -> None:
        self.client = client
        self.graph: Graph = parse_graph(compiled)
        #: each table's ``bigquery`` block (partitionBy, clusterBy), which the parsed graph drops
        self.options = {
            Target.of(t["target"]): dict(t.get("bigquery") or {}) for t in compiled.get("tables", ())
        }
        self.bucket_dir = bucket_dir
        self.location = location
        self.retry = retry
        self.job_retry = job_retry
        #: the external-table actions whose files were loaded into tables instead
        self.substituted: set[str] = set()

    # --- plumbing ----------------------------------------------------------------------------
    def job(self, sql: str) -> bigquery.table.RowIterator:
        job = self.client.query(sql, location=self.location, retry=self.retry, job_retry=self.job_retry)
        return job.result(retry=self.retry, job_retry=self.job_retry)

    def rows(self, sql: str) -> list[dict[str, Any]]:
        return [dict(r.items()) for r in self.job(sql)]

    def ref(self, target: Target) -> str:
        return f"`{target.database or self.graph.default_database}.{target.schema}.{target.name}`"

    def table_type(self, target: Target) -> str | None:
        """``TABLE`` / ``VIEW`` / None, from the table's metadata as Dataform reads it."""
        try:
            table = self.client.get_table(
                f"{target.database or self.graph.default_database}.{target.schema}.{target.name}",
                retry=self.retry,
            )
        except NotFound:
            return None
        return str(table.table_type)

    def create_datasets(self) -> None:
        for schema in sorted({t.schema for t in self.graph.actions}):
            dataset = bigquery.Dataset(f"{self.graph.default_database}.{schema}")
            dataset.location = self.location
            self.client.create_dataset(dataset, exists_ok=True, retry=self.retry)

    # --- actions -------------------------------------------------------------------------------
    def run(self, plan: Iterable[Action], full_refresh: bool = False) -> list[Outcome]:
        outcomes: list[Outcome] = []
        not_ok: set[str] = set()
        for action in plan:
            blocked = [str(d) for d in action.dependencies if str(d) in not_ok]
            started = time.perf_counter()
            if blocked:
                outcome = Outcome(
                    action.name, action.kind, "skipped", f"upstream failed: {', '.join(blocked)}"
                )
            else:
                outcome = self._run(action, full_refresh)
            outcome.seconds = time.perf_counter() - started
            if outcome.status != "success" and action.name not in self.substituted:
                not_ok.add(action.name)
            outcomes.append(outcome)
        return outcomes

    def _run(self, action: Action, full_refresh: bool) -> Outcome:
        try:
            if action.kind == "declaration":
                if self.table_type(action.target) is None:
                    raise RuntimeError(f"declared source {action.name} does not exist")
            elif action.kind == "operations":
                self._operations(action)
            elif action.kind == "assertion":
                self.job(f"create or replace view {self.ref(action.target)} as {action.query}")
                (row,) = self.rows(f"select sum(1) as row_count from {self.ref(action.target)}")
                failing = int(row["row_count"] or 0)
                if failing:
                    return Outcome(action.name, action.kind, "failed", "assertion failed", failing)
                return Outcome(action.name, action.kind, "success", failing_rows=0)
            else:
                script, incremental = self.publish_script(action, full_refresh)
                self.job(script)
                return Outcome(action.name, action.kind, "success", incremental=incremental)
        except Exception as exc:  # one action's failure is its outcome, as in a Dataform run
            return Outcome(action.name, action.kind, "failed", f"{type(exc).__name__}: {exc}"[:2000])
        return Outcome(action.name, action.kind, "success")

    def _operations(self, action: Action) -> None:
        error: Exception | None = None
        for query in action.queries:
            try:
                self.job(query)
            except Exception as exc:
                if not is_external_table(query):
                    raise
                error = exc
                load_external_table(self, parse_external_table(query))
                self.substituted.add(action.name)
        if error is not None:
            raise error

    def publish_script(self, action: Action, full_refresh: bool) -> tuple[str, bool]:
        """The one script that publishes ``action``, and whether it writes incrementally."""
        existing = self.table_type(action.target)
        incremental = (
            action.kind == "incremental" and existing == "TABLE" and (not full_refresh or action.protected)
        )
        pre = action.incremental_pre_ops if incremental else action.pre_ops
        post = action.incremental_post_ops if incremental else action.post_ops
        statements = list(pre)
        if incremental:
            statements.append(self.incremental_dml(action))
        else:
            kind = "view" if action.kind == "view" else "table"
            other = "table" if kind == "view" else "view"
            if existing is not None and existing.lower() != kind:
                statements.append(f"drop {other} if exists {self.ref(action.target)}")
            statements.append(self.create_or_replace(action, kind))
        statements.extend(post)
        return concatenate(statements), incremental

    def create_or_replace(self, action: Action, kind: str) -> str:
        options = self.options.get(action.target, {})
        partition = f"partition by {options['partitionBy']} " if options.get("partitionBy") else ""
        cluster = f"cluster by {', '.join(options['clusterBy'])} " if options.get("clusterBy") else ""
        return f"create or replace {kind} {self.ref(action.target)} {partition}{cluster}as {action.query}"

    def incremental_dml(self, action: Action) -> str:
        table = self.client.get_table(
            f"{action.target.database or self.graph.default_database}.{action.target.schema}.{action.target.name}",
            retry=self.retry,
        )
        columns = [f.name for f in table.schema]
        quoted = [f"`{c}`" for c in columns]
        query = action.incremental_query or action.query
        if not action.unique_key:
            return (
                f"insert into {self.ref(action.target)} ({','.join(quoted)}) "
                f"select {','.join(quoted)} from ({query}) as insertions"
            )
        on = " and ".join(f"DATAFORM_DEST.{k} = DATAFORM_SOURCE.{k}" for k in action.unique_key)
        updates = ",".join(f"`{c}` = DATAFORM_SOURCE.{c}" for c in columns)
        return (
            f"merge {self.ref(action.target)} DATAFORM_DEST using ({query}\n) DATAFORM_SOURCE on {on}\n"
            f"when matched then update set {updates}\n"
            f"when not matched then insert ({','.join(quoted)}) values ({','.join(quoted)})"
        )


def concatenate(statements: Sequence[str]) -> str:
    """Statements joined into one script, each ended by ``;`` but the last (as Dataform does)."""
    parts = [s.strip() for s in statements if s and s.strip()]
    return "\n".join(p if i == len(parts) - 1 or p.endswith(";") else p + ";" for i, p in enumerate(parts))


# --- bronze: external tables loaded as tables ---------------------------------------------------------


def _local_prefix(uri: str, bucket_dir: Callable[[str], Path]) -> Path:
    """``gs://bucket/a/b/*`` → the local folder of ``gs://bucket/a/b`` (where hive paths start)."""
    bucket, _, path = uri.removeprefix("gs://").partition("/")
    return bucket_dir(bucket) / path.rstrip("*").rstrip("/")


def _hive_values(path: Path, prefix: Path) -> dict[str, str]:
    return dict(p.split("=", 1) for p in path.relative_to(prefix).parts[:-1] if "=" in p)


def _partition_array(value: str | None, typ: str, rows: int) -> pa.Array:
    if typ.upper() == "DATE":
        return pa.array([dt.date.fromisoformat(value) if value else None] * rows, pa.date32())
    return pa.array([value] * rows, pa.string())


def load_external_table(runner: BigQueryDataform, table: ExternalTable) -> int:
    """Load the local lake files an external table would read into a table of the same name.

    Hive partition columns come from the file paths (as BigQuery's hive partitioning derives
    them); the table has the declared columns and types. Returns the number of rows loaded.
    """
    schema = [bigquery.SchemaField(c, t) for c, t in (*table.columns, *table.partition_columns)]
    table_id = f"{runner.graph.default_database}.{table.schema}.{table.name}"
    files: list[tuple[Path, dict[str, str]]] = []
    for uri in table.uris:
        prefix = _local_prefix(uri, runner.bucket_dir)
        pattern = local_glob(uri, table.format, runner.bucket_dir, len(table.partition_columns))
        files += [(Path(f), _hive_values(Path(f), prefix)) for f in sorted(glob(pattern, recursive=True))]
    runner.client.delete_table(table_id, not_found_ok=True, retry=runner.retry)
    runner.client.create_table(bigquery.Table(table_id, schema=schema), retry=runner.retry)
    if not files:
        return 0
    payload = io.BytesIO()
    config = bigquery.LoadJobConfig(schema=schema, write_disposition="WRITE_APPEND")
    if table.format == "PARQUET":
        config.source_format = bigquery.SourceFormat.PARQUET
        parts = []
        for path, hive in files:
            data = pq.read_table(path)
            for name, typ in table.partition_columns:
                data = data.append_column(name, _partition_array(hive.get(name), typ, data.num_rows))
            parts.append(data)
        pq.write_table(pa.concat_tables(parts, promote_options="permissive"), payload)
    else:
        config.source_format = bigquery.SourceFormat.NEWLINE_DELIMITED_JSON
        for path, hive in files:
            for line in path.read_text().splitlines():
                if line.strip():
                    record = json.loads(line)
                    record.update({name: hive.get(name) for name, _ in table.partition_columns})
                    payload.write(json.dumps(record).encode() + b"\n")
    job = runner.client.load_table_from_file(
        payload, table_id, rewind=True, job_config=config, location=runner.location
    )
    job.result(retry=runner.retry)
    return int(job.output_rows or 0)


# --- comparing relations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Checksum:
    """A relation's row count and, per column, its non-null count and a numeric sum."""

    columns: tuple[str, ...]
    rows: int
    sums: dict[str, tuple[int, float | None]]

    def differences(self, other: Checksum, rel_tol: float = 1e-9) -> list[tuple[str, str]]:
        """``(column, what differs)`` pairs; the column is ``""`` for the relation's shape."""
        diffs = []
        if self.columns != other.columns:
            diffs.append(("", f"columns {self.columns} != {other.columns}"))
        if self.rows != other.rows:
            diffs.append(("", f"rows {self.rows} != {other.rows}"))
        for column, (count, total) in self.sums.items():
            if column not in other.sums:
                continue
            other_count, other_total = other.sums[column]
            if count != other_count:
                diffs.append((column, f"non-null {count} != {other_count}"))
            if (total is None) != (other_total is None) or (
                total is not None
                and other_total is not None
                and not math.isclose(total, other_total, rel_tol=rel_tol, abs_tol=1e-6)
            ):
                diffs.append((column, f"sum {total} != {other_total}"))
        return diffs


def _kind(duckdb_type: str) -> str:
    t = duckdb_type.upper()
    if t.startswith(("STRUCT", "MAP")) or t.endswith("]"):
        return "other"
    if t in ("BOOLEAN",):
        return "bool"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t in ("VARCHAR",) or t.startswith("VARCHAR"):
        return "string"
    if t in (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "FLOAT",
        "DOUBLE",
        "UBIGINT",
    ) or t.startswith("DECIMAL"):
        return "number"
    return "other"


_SUMS = {
    "duckdb": {
        "number": "SUM(CAST({c} AS DOUBLE))",
        "bool": "SUM(CAST({c} AS BIGINT))",
        "date": "SUM(CAST({c} - DATE '1970-01-01' AS BIGINT))",
        "timestamp": "SUM(CAST(epoch_us({c}) AS DOUBLE))",
        "string": "SUM(LENGTH({c}))",
    },
    "bigquery": {
        "number": "SUM(CAST({c} AS FLOAT64))",
        "bool": "SUM(CAST({c} AS INT64))",
        "date": "SUM(UNIX_DATE({c}))",
        "timestamp": "SUM(CAST(UNIX_MICROS({c}) AS FLOAT64))",
        "string": "SUM(LENGTH({c}))",
    },
}


def checksum_sql(dialect: str, relation: str, columns: Sequence[tuple[str, str]]) -> str:
    """One query: ``n`` and, per column ``i``, ``c<i>`` (non-null count) and ``s<i>`` (sum)."""
    quote = '"{}"' if dialect == "duckdb" else "`{}`"
    parts = ["COUNT(*) AS n"]
    for i, (name, duck_type) in enumerate(columns):
        c = quote.format(name)
        parts.append(f"COUNT({c}) AS c{i}")
        template = _SUMS[dialect].get(_kind(duck_type))
        parts.append(f"{template.format(c=c)} AS s{i}" if template else f"NULL AS s{i}")
    return f"SELECT {', '.join(parts)} FROM {relation}"


def checksum_from_row(
    columns: Sequence[tuple[str, str]], row: dict[str, Any], names: Sequence[str]
) -> Checksum:
    sums: dict[str, tuple[int, float | None]] = {}
    for i, (name, _) in enumerate(columns):
        total = row[f"s{i}"]
        sums[name] = (int(row[f"c{i}"]), None if total is None else float(total))
    return Checksum(tuple(names), int(row["n"]), sums)
