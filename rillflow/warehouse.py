"""The warehouse: BigQuery in the cloud, one DuckDB file locally (datasets = schemas).

One small interface with two implementations picked by settings, so that the
streaming sink, the Dataform runner, the ML pipelines and the dashboards share it.
DuckDB lets one process write a file at a time; every call here opens a short-lived
connection and retries while another process holds the lock, so several local
processes can take turns on the same warehouse.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from rillflow.settings import Settings, get_settings

WriteMode = Literal["append", "replace", "merge"]
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


class Warehouse(Protocol):
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table: ...

    def write(
        self, dataset: str, table: str, data: pa.Table, mode: WriteMode = "append", key: Sequence[str] = ()
    ) -> int: ...


class DuckDBWarehouse:
    """The local warehouse: ``<RILLFLOW_HOME>/rillflow.duckdb``."""

    def __init__(self, path: Path, lock_timeout_s: float = 120.0) -> None:
        self.path = Path(path)
        self.lock_timeout_s = lock_timeout_s

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[Any]:
        """A connection, waiting (with jittered backoff) while another process holds the file."""
        import duckdb

        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only and self.path.exists())
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 0.5)
        try:
            yield con
        finally:
            con.close()

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        with self.connect(read_only=True) as con:
            return con.sql(sql, params=list(params) if params else None).to_arrow_table()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self.connect() as con:
            con.execute(sql, params or [])

    def write(
        self, dataset: str, table: str, data: pa.Table, mode: WriteMode = "append", key: Sequence[str] = ()
    ) -> int:
        """Write an Arrow table; ``merge`` replaces rows whose ``key`` matches (idempotent re-delivery)."""
        ds, tb = _ident(dataset), _ident(table)
        target = f'"{ds}"."{tb}"'
        with self.connect() as con:
            con.register("_incoming", data)
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{ds}"')
            if mode == "replace":
                con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM _incoming")
            else:
                con.execute(f"CREATE TABLE IF NOT EXISTS {target} AS SELECT * FROM _incoming LIMIT 0")
                con.execute("BEGIN")
                if mode == "merge":
                    if not key:
                        raise ValueError("merge needs a key")
                    cond = " AND ".join(f't."{_ident(k)}" IS NOT DISTINCT FROM s."{k}"' for k in key)
                    con.execute(
                        f"DELETE FROM {target} t WHERE EXISTS (SELECT 1 FROM _incoming s WHERE {cond})"
                    )
                con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM _incoming")
                con.execute("COMMIT")
            con.unregister("_incoming")
        return data.num_rows


#: how long a merge's staging table lives if the merge dies before deleting it
STAGING_TTL = dt.timedelta(hours=1)


def bigquery_schema(schema: pa.Schema) -> list[Any]:
    """The BigQuery schema of an Arrow schema (a non-nullable field is REQUIRED).

    Loads give it explicitly, so a table's column types come from the Arrow types the code wrote,
    never from inference (an int64 column with nulls stays INT64, a tz-naive timestamp is DATETIME).
    """
    from google.cloud.bigquery import SchemaField

    def field(f: pa.Field) -> Any:
        t, mode = f.type, "NULLABLE" if f.nullable else "REQUIRED"
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            inner = field(pa.field(f.name, t.value_type))
            return SchemaField(f.name, inner.field_type, mode="REPEATED", fields=inner.fields)
        if pa.types.is_struct(t):
            return SchemaField(
                f.name, "RECORD", mode=mode, fields=[field(t.field(i)) for i in range(t.num_fields)]
            )
        return SchemaField(f.name, _bigquery_type(t, f.name), mode=mode)

    return [field(f) for f in schema]


def _bigquery_type(t: pa.DataType, name: str) -> str:
    if pa.types.is_dictionary(t):  # pandas categoricals: Parquet stores the values
        return _bigquery_type(t.value_type, name)
    checks: tuple[tuple[Any, str], ...] = (
        (pa.types.is_boolean, "BOOL"),
        (pa.types.is_integer, "INT64"),
        (pa.types.is_floating, "FLOAT64"),
        (lambda x: pa.types.is_string(x) or pa.types.is_large_string(x), "STRING"),
        (lambda x: pa.types.is_binary(x) or pa.types.is_large_binary(x), "BYTES"),
        (pa.types.is_date, "DATE"),
        (pa.types.is_time, "TIME"),
        (lambda x: pa.types.is_timestamp(x) and x.tz is not None, "TIMESTAMP"),
        (pa.types.is_timestamp, "DATETIME"),
        (lambda x: pa.types.is_decimal(x) and x.precision <= 38 and x.scale <= 9, "NUMERIC"),
        (pa.types.is_decimal, "BIGNUMERIC"),
    )
    for check, bigquery_type in checks:
        if check(t):
            return bigquery_type
    raise ValueError(f"column {name!r}: no BigQuery type for Arrow type {t}")


def _microseconds(data: pa.Table) -> pa.Table:
    """Nanosecond timestamps (pandas') rounded to the microseconds BigQuery keeps, as DuckDB's
    TIMESTAMP columns round them."""
    import pyarrow.compute as pc

    for i, f in enumerate(data.schema):
        if pa.types.is_timestamp(f.type) and f.type.unit == "ns":
            rounded = pc.round_temporal(data.column(i), multiple=1, unit="microsecond")
            target = pa.field(f.name, pa.timestamp("us", tz=f.type.tz), f.nullable, f.metadata)
            data = data.set_column(i, target, rounded.cast(target.type))
    return data


class BigQueryWarehouse:
    """The cloud warehouse, through google-cloud-bigquery.

    By default it opens ``bigquery.Client(project, location)`` with the library's call policies.
    Everything else is given, not detected: ``client`` replaces that client (e.g. one pointed at
    a BigQuery emulator), ``retry`` / ``job_retry`` replace the library's retry policies (whose
    deadlines are 10 and 40 minutes) on every call, and ``read_api=False`` reads query results
    over REST instead of the BigQuery Storage Read API.

    Writes load Arrow data as Parquet with the schema :func:`bigquery_schema` derives (appends
    use the destination's schema when it exists). A merge loads the incoming rows into its own
    staging table (``<table>__staging_<uuid>``, expiring after :data:`STAGING_TTL`, deleted in
    a ``finally``), so concurrent merges into one table never share staging rows; one MERGE
    statement (:func:`merge_statement`) then deletes the destination rows whose ``key`` matches
    and inserts the incoming rows, atomically, as the local merge's transaction does.
    """

    def __init__(
        self,
        project: str | None = None,
        location: str | None = None,
        *,
        client: Any = None,
        retry: Any = None,
        job_retry: Any = None,
        read_api: bool = True,
    ) -> None:
        from google.cloud import bigquery

        self._bq = bigquery
        if client is None:
            if not project:
                raise ValueError("BigQueryWarehouse needs a project or a client")
            client = bigquery.Client(project=project, location=location)
        self.client = client
        self.project = project or client.project
        self.location = location
        self.read_api = read_api
        self._calls: dict[str, Any] = {} if retry is None else {"retry": retry}
        self._jobs: dict[str, Any] = {} if job_retry is None else {"job_retry": job_retry}

    def _run(self, sql: str) -> Any:
        job = self.client.query(sql, location=self.location, **self._calls, **self._jobs)
        return job.result(**self._calls, **self._jobs)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        if params:
            raise NotImplementedError("positional parameters: use named BigQuery parameters in the cloud")
        return self._run(sql).to_arrow(create_bqstorage_client=self.read_api)

    def write(
        self, dataset: str, table: str, data: pa.Table, mode: WriteMode = "append", key: Sequence[str] = ()
    ) -> int:
        dest = f"{self.project}.{_ident(dataset)}.{_ident(table)}"
        if mode == "merge":
            if not key:
                raise ValueError("merge needs a key")
            self._merge(dest, data, [_ident(k) for k in key])
        elif mode == "replace":
            self._load(dest, data, "WRITE_TRUNCATE", bigquery_schema(data.schema))
        else:
            self._load(dest, data, "WRITE_APPEND", self._schema(dest, data)[0])
        return data.num_rows

    def _schema(self, dest: str, data: pa.Table) -> tuple[list[Any], bool]:
        """The destination's schema and True if it exists, else the schema of ``data`` and False."""
        from google.api_core.exceptions import NotFound

        try:
            return list(self.client.get_table(dest, **self._calls).schema), True
        except NotFound:
            return bigquery_schema(data.schema), False

    def _load(self, table_id: str, data: pa.Table, disposition: str, schema: list[Any]) -> None:
        bq = self._bq
        buffer = io.BytesIO()
        pq.write_table(_microseconds(data), buffer)
        parquet = bq.ParquetOptions()
        parquet.enable_list_inference = True
        config = bq.LoadJobConfig(
            source_format=bq.SourceFormat.PARQUET,
            write_disposition=disposition,
            schema=schema,
            parquet_options=parquet,
        )
        job = self.client.load_table_from_file(
            buffer, table_id, rewind=True, location=self.location, job_config=config
        )
        job.result(**self._calls)

    def _merge(self, dest: str, data: pa.Table, key: list[str]) -> None:
        bq = self._bq
        schema, exists = self._schema(dest, data)
        if not exists:
            self.client.create_table(bq.Table(dest, schema=schema), exists_ok=True, **self._calls)
        staging = f"{dest}__staging_{uuid.uuid4().hex}"
        table = bq.Table(staging, schema=schema)
        table.expires = dt.datetime.now(dt.UTC) + STAGING_TTL
        try:
            self.client.create_table(table, **self._calls)
            self._load(staging, data, "WRITE_APPEND", schema)
            self._run(merge_statement(dest, staging, data.column_names, key, schema))
        finally:
            self.client.delete_table(staging, not_found_ok=True, **self._calls)


#: the column of a merge's source rows that marks a key to delete
_MARKER = "_merge_delete"


def merge_statement(
    dest: str, staging: str, columns: Sequence[str], key: Sequence[str], schema: Sequence[Any]
) -> str:
    """One MERGE that deletes the rows of ``dest`` whose key is in ``staging`` and inserts every
    row of ``staging`` (the local merge's delete-then-insert, atomically, duplicates kept).

    Each incoming key also comes once as a delete marker: only markers can match (so a target
    row matches at most one source row), unmatched non-markers are inserted. A REQUIRED key
    column compares with ``=``, a NULLABLE one with ``IS NOT DISTINCT FROM`` (NULL matches NULL).
    """
    required = {f.name for f in schema if f.mode == "REQUIRED"}
    cols = [f"`{_ident(c)}`" for c in columns]
    keys = [f"`{_ident(k)}`" for k in key]
    cond = " AND ".join(
        f"t.{k} = s.{k}" if name in required else f"t.{k} IS NOT DISTINCT FROM s.{k}"
        for name, k in zip(key, keys, strict=True)
    )
    return (
        f"MERGE `{dest}` t\n"
        "USING (\n"
        f"  SELECT FALSE AS {_MARKER}, {', '.join(cols)} FROM `{staging}`\n"
        "  UNION ALL\n"
        f"  SELECT TRUE, {', '.join(c if c in keys else 'NULL' for c in cols)}\n"
        f"  FROM (SELECT DISTINCT {', '.join(keys)} FROM `{staging}`)\n"
        ") s\n"
        f"ON s.{_MARKER} AND {cond}\n"
        "WHEN MATCHED THEN DELETE\n"
        f"WHEN NOT MATCHED AND NOT s.{_MARKER} THEN INSERT ({', '.join(cols)}) "
        f"VALUES ({', '.join(f's.{c}' for c in cols)})"
    )


def duckdb_warehouse(settings: Settings) -> Warehouse:
    return DuckDBWarehouse(settings.warehouse_path)


def bigquery_warehouse(settings: Settings) -> Warehouse:
    return BigQueryWarehouse(settings.project, settings.region)


def get_warehouse(settings: Settings | None = None) -> Warehouse:
    """The environment's warehouse (``rillflow.resources``): BigQuery in the cloud, DuckDB here."""
    from rillflow.resources import resources

    s = settings or get_settings()
    return resources(s).warehouse(s)
