"""BigQuery SQL → DuckDB SQL: sqlglot, plus the few patches this project needs, all in this one module.

sqlglot (read="bigquery", write="duckdb") translates almost everything the Dataform project
uses. Where its output is wrong or missing for a construct the project relies on, the fix lives
here, as an AST rewrite applied before generation, never as a second copy of the SQL:

* three-part names ``project.dataset.table`` → ``dataset.table`` (DuckDB schema.table); an unknown
  project is an error, not a silent catalog lookup;
* ``NUMERIC`` → ``DECIMAL(38, 9)`` (sqlglot leaves a bare ``DECIMAL``, which DuckDB reads as (18, 3));
* ``PARSE_DATE`` / ``PARSE_TIMESTAMP`` and their ``SAFE.`` forms → ``STRPTIME`` / ``TRY_STRPTIME``
  (sqlglot emits a ``'1970 ' ||`` prefix hack and an invalid ``SAFE.`` call);
* ``DATE_ADD`` / ``DATE_SUB`` → cast back to ``DATE`` (DuckDB's ``date ± interval`` is a TIMESTAMP, which
  silently turns date comparisons into timestamp ones and defeats partition pruning);
* ``EXTRACT(DAYOFWEEK ...)`` → +1 (BigQuery counts Sunday as 1, DuckDB as 0); ``ISOWEEK`` → ``WEEK``
  (DuckDB's ``week`` is the ISO week; it has no ``isoweek`` specifier);
* ``CREATE TABLE`` ``PARTITION BY`` / ``CLUSTER BY`` / ``OPTIONS`` dropped (storage hints only);
* BigQuery scripting variables (``DECLARE x DEFAULT (...)`` in pre-operations): the value is
  computed first and inlined as a literal, so partition pruning sees a constant;
* ``CREATE EXTERNAL TABLE ... WITH PARTITION COLUMNS OPTIONS(uris=[gs://...])`` → a view over
  ``read_parquet`` / ``read_json`` with hive partitioning on the local lake (see :mod:`.external`).

Generation raises on anything sqlglot cannot express in DuckDB (``unsupported_level=RAISE``), so a
mistranslation fails loudly instead of running different SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

_DECLARE = re.compile(
    r"^\s*DECLARE\s+(?P<name>[A-Za-z_]\w*)(?:\s+(?P<type>[A-Za-z0-9_<>(), ]+?))?\s+DEFAULT\s+(?P<expr>.+?);?\s*$",
    re.IGNORECASE | re.DOTALL,
)
NUMERIC_PRECISION, NUMERIC_SCALE = 38, 9
_STORAGE_HINTS = (exp.PartitionedByProperty, exp.ClusterProperty, exp.ClusteredByProperty)


class TranspileError(ValueError):
    """The SQL uses something the local runner cannot translate faithfully."""


@dataclass(frozen=True)
class Declare:
    """A BigQuery scripting ``DECLARE name [type] DEFAULT expr`` statement."""

    name: str
    type: str | None
    expression: str


def parse_declare(sql: str) -> Declare | None:
    """The DECLARE statement in ``sql``, or None when it is something else."""
    match = _DECLARE.match(sql)
    if not match:
        return None
    return Declare(match["name"], (match["type"] or "").strip() or None, match["expr"].strip())


def literal(value: Any) -> exp.Expression:
    """A typed SQL literal for a Python value (what a scripting variable is inlined as)."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("TIMESTAMPTZ"))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("DATE"))
    return exp.Literal.string(str(value))


def _strip_project(node: exp.Table, known_projects: frozenset[str]) -> None:
    catalog = node.args.get("catalog")
    if catalog is None:
        return
    if known_projects and catalog.name not in known_projects:
        raise TranspileError(
            f"table {node.sql('bigquery')} names project {catalog.name!r}; "
            f"the local warehouse maps only {sorted(known_projects)} to DuckDB schemas"
        )
    node.set("catalog", None)


def _numeric(node: exp.DataType) -> None:
    if node.this == exp.DataType.Type.DECIMAL and not node.expressions:
        node.set(
            "expressions",
            [
                exp.DataTypeParam(this=exp.Literal.number(NUMERIC_PRECISION)),
                exp.DataTypeParam(this=exp.Literal.number(NUMERIC_SCALE)),
            ],
        )


def _parse_function(node: exp.StrToDate | exp.StrToTime, safe: bool) -> exp.Expression:
    fn = "TRY_STRPTIME" if safe else "STRPTIME"
    parsed = exp.Anonymous(this=fn, expressions=[node.this, node.args["format"]])
    target = "DATE" if isinstance(node, exp.StrToDate) else "TIMESTAMPTZ"
    return exp.cast(parsed, exp.DataType.build(target))


def _rewrite(
    node: exp.Expression, known_projects: frozenset[str], variables: Mapping[str, Any]
) -> exp.Expression:
    if isinstance(node, exp.Table):
        _strip_project(node, known_projects)
    elif isinstance(node, exp.DataType):
        _numeric(node)
    elif isinstance(node, exp.SafeFunc) and isinstance(node.this, exp.StrToDate | exp.StrToTime):
        return _parse_function(node.this, safe=True)
    elif isinstance(node, exp.StrToDate | exp.StrToTime) and not isinstance(node.parent, exp.SafeFunc):
        return _parse_function(node, safe=False)
    elif isinstance(node, exp.DateAdd | exp.DateSub) and not isinstance(node.parent, exp.Cast):
        return exp.cast(node.copy(), exp.DataType.build("DATE"))
    elif isinstance(node, exp.Extract) and node.this.name.upper() == "DAYOFWEEK":
        return exp.paren(exp.Add(this=node.copy(), expression=exp.Literal.number(1)), copy=False)
    elif isinstance(node, exp.Extract) and node.this.name.upper() == "ISOWEEK":
        return exp.Extract(this=exp.var("WEEK"), expression=node.expression)
    elif isinstance(node, exp.Column) and not node.table and node.name.lower() in variables:
        return literal(variables[node.name.lower()])
    elif isinstance(node, exp.Properties):
        kept = [
            p
            for p in node.expressions
            if not isinstance(p, _STORAGE_HINTS) and type(p) is not exp.Property  # OPTIONS(k=v) items
        ]
        node.set("expressions", kept)
    return node


def to_duckdb(
    sql: str, known_projects: Iterable[str] = (), variables: Mapping[str, Any] | None = None
) -> list[str]:
    """Translate one BigQuery script (one or more statements) into DuckDB statements."""
    projects = frozenset(known_projects)
    names = {k.lower(): v for k, v in (variables or {}).items()}
    try:
        trees = sqlglot.parse(sql, read="bigquery")
    except sqlglot.errors.ParseError as exc:
        raise TranspileError(f"cannot parse BigQuery SQL: {exc}") from exc
    out = []
    for tree in trees:
        if tree is None:
            continue
        rewritten = tree.transform(lambda n: _rewrite(n, projects, names))
        try:
            out.append(rewritten.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE))
        except sqlglot.errors.UnsupportedError as exc:
            raise TranspileError(f"no DuckDB translation: {exc}\n--- in:\n{sql.strip()}") from exc
    return out


def to_duckdb_query(
    sql: str, known_projects: Iterable[str] = (), variables: Mapping[str, Any] | None = None
) -> str:
    """Translate a single SELECT (a model's query)."""
    statements = to_duckdb(sql, known_projects, variables)
    if len(statements) != 1:
        raise TranspileError(f"expected one query, got {len(statements)} statements")
    return statements[0]
