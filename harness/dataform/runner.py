"""``run()``: compile the project with the real CLI, select actions, execute them on DuckDB, log the run."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.dataform.compile import compile_project
from harness.dataform.executor import ActionResult, Executor
from harness.dataform.graph import parse_graph, select
from rillflow.settings import Settings, get_settings
from rillflow.warehouse import DuckDBWarehouse


@dataclass
class RunResult:
    run_id: str
    started_at: str
    actions: list[ActionResult] = field(default_factory=list)
    log_path: Path | None = None

    @property
    def ok(self) -> bool:
        return all(a.status == "success" for a in self.actions)

    @property
    def failed(self) -> list[ActionResult]:
        return [a for a in self.actions if a.status == "failed"]

    @property
    def seconds(self) -> float:
        return sum(a.seconds for a in self.actions)

    def action(self, name: str) -> ActionResult:
        """The result of ``dataset.name`` (or just ``name`` when unambiguous)."""
        hits = [a for a in self.actions if a.name == name or a.name.split(".", 1)[1] == name]
        if len(hits) != 1:
            raise KeyError(f"{name!r} matched {len(hits)} actions in this run")
        return hits[0]

    def describe_failures(self) -> str:
        lines = []
        for a in self.failed:
            lines.append(f"{a.name}: {a.error}")
            lines.extend(f"    {row}" for row in a.failing_rows)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_at": self.started_at,
            "ok": self.ok,
            "actions": [asdict(a) for a in self.actions],
        }


def _write_log(result: RunResult, settings: Settings) -> Path:
    folder = settings.home / "dataform" / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.run_id}.json"
    path.write_text(json.dumps(result.to_json(), indent=2, default=str) + "\n")
    return path


def run(
    project_dir: Path | str,
    settings: Settings | None = None,
    tags: Iterable[str] = (),
    actions: Iterable[str] = (),
    vars: Mapping[str, str] | None = None,
    full_refresh: bool = False,
    include_dependencies: bool = False,
) -> RunResult:
    """Compile ``project_dir`` and execute the selected actions on the local warehouse.

    ``vars`` override ``workflow_settings.yaml`` vars; ``lake_bucket`` defaults to the settings'
    lake bucket and the project id (BigQuery database) to ``settings.project``, which the runner
    then maps away (``project.dataset.table`` → DuckDB ``dataset.table``).
    """
    s = settings or get_settings()
    all_vars = {"lake_bucket": s.lake_bucket, **dict(vars or {})}
    graph = parse_graph(compile_project(project_dir, all_vars, default_database=s.project))
    plan = select(graph, tags, actions, include_dependencies)
    now = dt.datetime.now(dt.UTC)
    result = RunResult(run_id=f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}", started_at=now.isoformat())
    not_ok: set[str] = set()
    with DuckDBWarehouse(s.warehouse_path).connect() as con:
        executor = Executor(con, graph, s.bucket_dir, full_refresh=full_refresh)
        for action in plan:
            blocked = [str(d) for d in action.dependencies if str(d) in not_ok]
            if blocked:
                outcome = ActionResult(
                    action.name, action.kind, "skipped", error=f"upstream failed: {', '.join(blocked)}"
                )
            else:
                outcome = executor.run(action)
            if outcome.status != "success":
                not_ok.add(action.name)
            result.actions.append(outcome)
    result.log_path = _write_log(result, s)
    return result
