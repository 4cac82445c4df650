"""BigQuery external (BigLake) tables over the lake bucket → DuckDB views over the local lake files.

The Dataform sources declare bronze as::

    CREATE EXTERNAL TABLE IF NOT EXISTS `p.bronze.sales_lines` (order_id STRING, ...)
    WITH PARTITION COLUMNS (dt DATE)
    OPTIONS (format = "PARQUET", uris = ["gs://<bucket>/bronze/sales/*"],
             hive_partition_uri_prefix = "gs://<bucket>/bronze/sales")

Locally ``gs://<bucket>/X`` is the plain file ``settings.bucket_dir(bucket) / X``. The view reads
the files with hive partitioning, casts every declared column to its declared type (so a file
with a drifting schema fails loudly instead of changing the table) and, while no file exists yet,
is an empty relation with the declared columns (a fresh lake must not break the build).
"""

from __future__ import annotations

import glob
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlglot import exp

from harness.dataform.transpile import TranspileError

_HEAD = re.compile(
    r"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?EXTERNAL\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>`[^`]+`|[\w.\-]+)\s*",
    re.IGNORECASE,
)
_PARTITION = re.compile(r"WITH\s+PARTITION\s+COLUMNS\s*(?:\((?P<cols>[^)]*)\))?", re.IGNORECASE)
_OPTIONS = re.compile(r"OPTIONS\s*\((?P<body>.*)\)\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_OPTION = re.compile(r"(\w+)\s*=\s*(\[[^\]]*\]|\"[^\"]*\"|'[^']*'|[\w.]+)", re.DOTALL)
_EXTENSIONS = {"PARQUET": ".parquet", "NEWLINE_DELIMITED_JSON": ".jsonl", "JSON": ".jsonl", "CSV": ".csv"}


@dataclass(frozen=True)
class ExternalTable:
    """What a ``CREATE EXTERNAL TABLE`` statement says, parsed."""

    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]
    partition_columns: tuple[tuple[str, str], ...]
    format: str
    uris: tuple[str, ...]


def is_external_table(sql: str) -> bool:
    return bool(_HEAD.match(sql))


def _columns(text: str) -> tuple[tuple[str, str], ...]:
    cols = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            name, _, typ = part.partition(" ")
            cols.append((name.strip("`"), typ.strip()))
    return tuple(cols)


def _unquote(value: str) -> str:
    return value.strip()[1:-1] if value.strip()[:1] in "\"'" else value.strip()


def parse_external_table(sql: str) -> ExternalTable:
    head = _HEAD.match(sql)
    if not head:
        raise TranspileError("not a CREATE EXTERNAL TABLE statement")
    parts = head["name"].strip("`").split(".")
    if len(parts) < 2:
        raise TranspileError(f"external table {head['name']} needs a dataset")
    rest = sql[head.end() :]
    partition = _PARTITION.search(rest)
    options = _OPTIONS.search(rest)
    if not partition or not options:
        raise TranspileError(
            f"external table {head['name']}: expected WITH PARTITION COLUMNS and OPTIONS(...)"
        )
    columns_text = rest[: partition.start()].strip()
    columns = _columns(columns_text[1:-1]) if columns_text.startswith("(") else ()
    opts = {k.lower(): v for k, v in _OPTION.findall(options["body"])}
    uris = tuple(_unquote(u) for u in re.findall(r"\"[^\"]*\"|'[^']*'", opts.get("uris", "")))
    if not columns or not uris or "format" not in opts:
        raise TranspileError(f"external table {head['name']}: needs a column list, format and uris")
    return ExternalTable(
        schema=parts[-2],
        name=parts[-1],
        columns=columns,
        partition_columns=_columns(partition["cols"] or ""),
        format=_unquote(opts["format"]).upper(),
        uris=uris,
    )


def local_glob(uri: str, fmt: str, bucket_dir: Callable[[str], Path], partition_depth: int = 0) -> str:
    """``gs://bucket/prefix/*`` → ``<bucket dir>/prefix/*/.../*.<ext>``.

    BigQuery's trailing ``*`` spans folders; with hive partition columns the files sit exactly one
    folder per column deep, and a fixed-depth glob lists far less than a recursive ``**`` one
    (about 4x faster over a year of hourly partitions).
    """
    if not uri.startswith("gs://"):
        raise TranspileError(f"external table uri must be gs://, got {uri!r}")
    bucket, _, path = uri[len("gs://") :].partition("/")
    if path.endswith("*"):
        folders = "*/" * partition_depth if partition_depth else "**/"
        path = path[:-1] + folders + "*" + _EXTENSIONS.get(fmt, "")
    return str(bucket_dir(bucket) / path)


def _duck_type(bigquery_type: str) -> str:
    return exp.DataType.build(bigquery_type, dialect="bigquery").sql("duckdb")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def view_select(table: ExternalTable, bucket_dir: Callable[[str], Path]) -> str:
    """The DuckDB SELECT a view over the table's files runs (an empty relation while there are none)."""
    globs = [local_glob(u, table.format, bucket_dir, len(table.partition_columns)) for u in table.uris]
    has_files = any(next(glob.iglob(g, recursive=True), None) is not None for g in globs)
    all_columns = table.columns + table.partition_columns
    if not has_files:
        select = ", ".join(f'CAST(NULL AS {_duck_type(t)}) AS "{c}"' for c, t in all_columns)
        return f"SELECT {select} LIMIT 0"
    files = "[" + ", ".join(_quote(g) for g in globs) + "]"
    hive_types = (
        "{" + ", ".join(f"{_quote(c)}: {_quote(_duck_type(t))}" for c, t in table.partition_columns) + "}"
    )
    hive = f"hive_partitioning = true, hive_types = {hive_types}" if table.partition_columns else ""
    if table.format == "PARQUET":
        reader = f"read_parquet({files}{', ' + hive if hive else ''})"
    elif table.format in ("NEWLINE_DELIMITED_JSON", "JSON"):
        cols = "{" + ", ".join(f"{_quote(c)}: {_quote(_duck_type(t))}" for c, t in table.columns) + "}"
        reader = (
            f"read_json({files}, format = 'newline_delimited', columns = {cols}{', ' + hive if hive else ''})"
        )
    else:
        raise TranspileError(f"external table format {table.format} is not supported locally")
    select = ", ".join(f'CAST("{c}" AS {_duck_type(t)}) AS "{c}"' for c, t in all_columns)
    return f"SELECT {select} FROM {reader}"
