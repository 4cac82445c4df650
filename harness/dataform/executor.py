"""Execute compiled Dataform actions on DuckDB, in dependency order.

Materialisations follow Dataform on BigQuery: ``view`` / ``table`` are replaced; ``incremental``
creates the table from ``query`` on its first run (or with full refresh, unless ``protected``) and
otherwise runs ``incrementalQuery`` and merges on ``uniqueKey`` (delete the incoming keys, insert
the incoming rows, in one transaction; plain append without a key). An assertion fails its action
when its query returns rows, and the rows are kept in the result (locally its failing rows are kept as a table, see ``_assertion``). An action whose upstream failed
in this run is skipped, as Dataform does.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.dataform import bqml
from harness.dataform.external import is_external_table, parse_external_table, view_select
from harness.dataform.graph import Action, Graph, Target
from harness.dataform.transpile import parse_declare, to_duckdb, to_duckdb_query

MAX_FAILING_ROWS = 20


@dataclass
class ActionResult:
    name: str
    kind: str
    status: str  # success | failed | skipped
    seconds: float = 0.0
    rows: int | None = None
    error: str = ""
    failing_rows: list[dict[str, Any]] = field(default_factory=list)


class ActionFailed(RuntimeError):
    def __init__(self, message: str, rows: int | None = None, failing: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.rows = rows
        self.failing = failing or []


class Executor:
    """Runs actions on one open DuckDB connection (the run holds the warehouse for its duration)."""

    def __init__(self, con: Any, graph: Graph, bucket_dir: Callable[[str], Path], full_refresh: bool = False):
        self.con = con
        self.graph = graph
        self.bucket_dir = bucket_dir
        self.full_refresh = full_refresh
        #: BigQuery ML models' local twins created in this run, by ``dataset.model`` (see :mod:`.bqml`)
        self.models: dict[str, Any] = {}
        con.execute("SET TimeZone = 'UTC'")

    # --- helpers ---------------------------------------------------------------------------
    def _sql(self, sql: str, variables: dict[str, Any] | None = None) -> list[str]:
        return to_duckdb(sql, self.graph.projects, variables)

    def _query(self, sql: str, variables: dict[str, Any] | None = None) -> str:
        return to_duckdb_query(sql, self.graph.projects, variables)

    def object_type(self, target: Target) -> str | None:
        row = self.con.execute(
            "SELECT table_type FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ?",
            [target.schema, target.name],
        ).fetchone()
        return None if row is None else ("view" if row[0] == "VIEW" else "table")

    def _scripts(self, statements: Iterable[str], variables: dict[str, Any]) -> None:
        """Run pre/post operations; ``DECLARE`` computes a variable that later SQL gets as a literal."""
        for script in statements:
            if not script.strip():
                continue
            declare = parse_declare(script)
            if declare is not None:
                expression = self._query(f"SELECT {declare.expression}", variables)
                row = self.con.execute(expression).fetchone()
                variables[declare.name.lower()] = row[0] if row else None
                continue
            for statement in self._sql(script, variables):
                self.con.execute(statement)

    def _replace(self, target: Target, kind: str, select_sql: str) -> None:
        """Create or replace ``target``; a view whose SQL did not change is left as it is.

        Creating a view binds it, which lists every file of an external table under it; over a
        long hive-partitioned history that listing is the main fixed cost of a run. DuckDB views
        are re-bound when queried, so an unchanged view never needs re-creating. Its SQL's hash is
        kept as the view's comment.
        """
        existing = self.object_type(target)
        digest = "dataform:" + hashlib.sha256(select_sql.encode()).hexdigest()[:32]
        if existing == "view" == kind and self._comment(target) == digest:
            return
        if existing is not None and existing != kind:
            self.con.execute(f"DROP {existing.upper()} {target.local}")
        self.con.execute(f'CREATE SCHEMA IF NOT EXISTS "{target.schema}"')
        self.con.execute(f"CREATE OR REPLACE {kind.upper()} {target.local} AS {select_sql}")
        if kind == "view":
            self.con.execute(f"COMMENT ON VIEW {target.local} IS '{digest}'")

    def _comment(self, target: Target) -> str | None:
        row = self.con.execute(
            "SELECT comment FROM duckdb_views() WHERE database_name = current_database() "
            "AND schema_name = ? AND view_name = ?",
            [target.schema, target.name],
        ).fetchone()
        return None if row is None else row[0]

    def _count(self, target: Target) -> int:
        return int(self.con.execute(f"SELECT COUNT(*) FROM {target.local}").fetchone()[0])

    # --- materialisations ------------------------------------------------------------------
    def _declaration(self, action: Action) -> int | None:
        if self.object_type(action.target) is None:
            raise ActionFailed(
                f"declared source {action.name} does not exist in the warehouse ({action.file_name})"
            )
        return None

    def _operations(self, action: Action) -> int | None:
        if bqml.TAG in action.tags:
            bqml.run_action(self, action)
            return self._count(action.target) if self.object_type(action.target) == "table" else None
        variables: dict[str, Any] = {}
        for script in action.queries:
            if is_external_table(script):
                table = parse_external_table(script)
                self._replace(
                    Target("", table.schema, table.name), "view", view_select(table, self.bucket_dir)
                )
            else:
                self.con.execute(f'CREATE SCHEMA IF NOT EXISTS "{action.target.schema}"')
                self._scripts([script], variables)
        return None

    def _rebuild(self, action: Action, kind: str) -> int | None:
        variables: dict[str, Any] = {}
        self._scripts(action.pre_ops, variables)
        self._replace(action.target, kind, self._query(action.query, variables))
        self._scripts(action.post_ops, variables)
        return self._count(action.target) if kind == "table" else None

    def _view_or_table(self, action: Action) -> int | None:
        return self._rebuild(action, action.kind)

    def _incremental(self, action: Action) -> int | None:
        exists = self.object_type(action.target) == "table"
        if not exists or (self.full_refresh and not action.protected):
            return self._rebuild(action, "table")
        variables: dict[str, Any] = {}
        target = action.target.local
        self.con.execute("BEGIN TRANSACTION")
        try:
            self._scripts(action.incremental_pre_ops, variables)
            incoming = self._query(action.incremental_query, variables)
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE __dataform_incoming AS {incoming}")
            if action.unique_key:
                match = " AND ".join(f't."{k}" IS NOT DISTINCT FROM s."{k}"' for k in action.unique_key)
                self.con.execute(
                    f"DELETE FROM {target} AS t WHERE EXISTS (SELECT 1 FROM __dataform_incoming AS s WHERE {match})"
                )
            self.con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM __dataform_incoming")
            rows = int(self.con.execute("SELECT COUNT(*) FROM __dataform_incoming").fetchone()[0])
            self.con.execute("DROP TABLE __dataform_incoming")
            self._scripts(action.incremental_post_ops, variables)
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        return rows

    def _assertion(self, action: Action) -> int | None:
        """Keep the failing rows of this run as a table in the assertion dataset.

        BigQuery keeps an assertion as a view and queries it. Locally a view would be bound twice
        (once when created, once when counted), and binding a query over a hive-partitioned
        external table lists every file of its history; materialising the rows binds it once, and
        ``SELECT * FROM dataform_assertions.<name>`` shows what failed in the latest run.
        """
        self._replace(action.target, "table", self._query(action.query))
        failing = self._count(action.target)
        if failing:
            cur = self.con.execute(f"SELECT * FROM {action.target.local} LIMIT {MAX_FAILING_ROWS}")
            columns = [d[0] for d in cur.description]
            rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()]
            raise ActionFailed(f"assertion {action.name} failed: {failing} row(s) returned", failing, rows)
        return 0

    def run(self, action: Action) -> ActionResult:
        handlers = {
            "declaration": self._declaration,
            "operations": self._operations,
            "view": self._view_or_table,
            "table": self._view_or_table,
            "incremental": self._incremental,
            "assertion": self._assertion,
        }
        started = time.perf_counter()
        try:
            rows = handlers[action.kind](action)
            status, error, failing = "success", "", []
        except ActionFailed as exc:
            rows, status, error, failing = exc.rows, "failed", str(exc), exc.failing
        except Exception as exc:  # a SQL or translation error fails this action, not the whole run
            rows, status, error, failing = None, "failed", f"{type(exc).__name__}: {exc}", []
        return ActionResult(
            action.name, action.kind, status, time.perf_counter() - started, rows, error, failing
        )
