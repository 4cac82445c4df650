"""The local Dataform runner: the real CLI compiles, DuckDB executes (BigQuery SQL via sqlglot).

``run(project_dir, settings, tags=(), actions=(), vars={}, full_refresh=False) -> RunResult``.
Modules: :mod:`.compile` (the CLI), :mod:`.graph` (actions, selection, order), :mod:`.transpile`
(BigQuery → DuckDB, with the dialect patches), :mod:`.external` (external tables on the local lake),
:mod:`.executor` (materialisations, assertions), :mod:`.runner` (the run and its log).
"""

from harness.dataform.compile import compile_project
from harness.dataform.executor import ActionResult
from harness.dataform.graph import Graph, GraphError, parse_graph, select
from harness.dataform.runner import RunResult, run

__all__ = [
    "ActionResult",
    "Graph",
    "GraphError",
    "RunResult",
    "compile_project",
    "parse_graph",
    "run",
    "select",
]
