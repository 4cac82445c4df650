"""The warehouse: BigQuery in the cloud, one DuckDB file locally (datasets = schemas).

One small interface with two implementations picked by settings, so that the
streaming sink, the Dataform runner, the ML pipelines and the dashboards share it.
DuckDB lets one process write a file at a time; every call here opens a short-lived
connection and retries while another process holds the lock, so several local
processes can take turns on the same warehouse.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

import pyarrow as pa

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


class BigQueryWarehouse:
    """The cloud warehouse, through google-cloud-bigquery."""

    def __init__(self, project: str, location: str) -> None:
        from google.cloud import bigquery

        self._bq = bigquery
        self.client = bigquery.Client(project=project, location=location)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        if params:
            raise NotImplementedError("positional parameters: use named BigQuery parameters in the cloud")
        return self.client.query(sql).to_arrow()

    def write(
        self, dataset: str, table: str, data: pa.Table, mode: WriteMode = "append", key: Sequence[str] = ()
    ) -> int:
        bq = self._bq
        dest = f"{self.client.project}.{_ident(dataset)}.{_ident(table)}"
        if mode == "merge":
            staging = f"{dest}__staging"
            self.client.load_table_from_dataframe(
                data.to_pandas(), staging, job_config=bq.LoadJobConfig(write_disposition="WRITE_TRUNCATE")
            ).result()
            cond = " AND ".join(f"t.{_ident(k)} = s.{k}" for k in key)
            cols = ", ".join(data.column_names)
            self.client.query(
                f"MERGE `{dest}` t USING `{staging}` s ON {cond} WHEN MATCHED THEN DELETE "
            ).result()
            self.client.query(f"INSERT INTO `{dest}` ({cols}) SELECT {cols} FROM `{staging}`").result()
            self.client.delete_table(staging, not_found_ok=True)
        else:
            disposition = "WRITE_TRUNCATE" if mode == "replace" else "WRITE_APPEND"
            self.client.load_table_from_dataframe(
                data.to_pandas(), dest, job_config=bq.LoadJobConfig(write_disposition=disposition)
            ).result()
        return data.num_rows


def get_warehouse(settings: Settings | None = None) -> Warehouse:
    s = settings or get_settings()
    if s.env == "cloud":
        return BigQueryWarehouse(s.project, s.region)
    return DuckDBWarehouse(s.warehouse_path)
