"""``googleapis.dataform.v1beta1.projects.locations.repositories.*`` backed by the local Dataform runner.

``compilationResults.create`` compiles ``dataform/`` with the real CLI and the call's vars;
``workflowInvocations.create`` starts the run in a background thread and answers RUNNING at
once, as the service does; ``workflowInvocations.get`` reports RUNNING, SUCCEEDED or FAILED
(with the failing actions and their rows), so the workflow's polling loop is exercised as in
the cloud.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.dataform.compile import compile_project
from harness.dataform.graph import GraphError
from harness.dataform.runner import run
from localgcp.services.workflows import errors
from localgcp.services.workflows.googleapis.timestamps import rfc3339_now
from rillflow.settings import Settings

PREFIX = "googleapis.dataform.v1beta1.projects.locations.repositories"
PROJECT_DIR = Path(__file__).resolve().parents[2] / "dataform"


@dataclass
class _Invocation:
    name: str
    compilation: str
    state: str = "RUNNING"
    start: str = field(default_factory=rfc3339_now)
    end: str | None = None
    failures: str = ""
    actions: list[dict[str, Any]] = field(default_factory=list)


class LocalDataform:
    """Holds compilation results and invocations for one local stack."""

    def __init__(self, settings: Settings, project_dir: Path = PROJECT_DIR) -> None:
        self.settings = settings
        self.project_dir = project_dir
        self._compilations: dict[str, dict[str, str]] = {}
        self._invocations: dict[str, _Invocation] = {}
        self._lock = threading.Lock()
        # DuckDB takes one writer: invocations run one after another, like a serial queue.
        self._run_lock = threading.Lock()

    def create_compilation(self, args: dict[str, Any]) -> dict[str, Any]:
        body = args.get("body") or {}
        vars_ = {k: str(v) for k, v in ((body.get("codeCompilationConfig") or {}).get("vars") or {}).items()}
        name = f"{args['parent']}/compilationResults/{uuid.uuid4().hex[:12]}"
        compilation_errors: list[dict[str, str]] = []
        try:
            compile_project(
                self.project_dir,
                {"lake_bucket": self.settings.lake_bucket, **vars_},
                default_database=self.settings.project,
            )
        except GraphError as exc:
            compilation_errors.append({"message": str(exc)})
        with self._lock:
            self._compilations[name] = vars_
        return {
            "name": name,
            "gitCommitish": body.get("gitCommitish", "main"),
            "codeCompilationConfig": {"vars": vars_},
            "compilationErrors": compilation_errors,
            "createTime": rfc3339_now(),
        }

    def create_invocation(self, args: dict[str, Any]) -> dict[str, Any]:
        body = args.get("body") or {}
        compilation = body.get("compilationResult", "")
        with self._lock:
            if compilation not in self._compilations:
                raise errors.make("HttpError", f"compilation result {compilation} not found", code=404)
            vars_ = self._compilations[compilation]
        config = body.get("invocationConfig") or {}
        targets = [
            f"{t.get('schema', '')}.{t['name']}".lstrip(".") for t in config.get("includedTargets") or []
        ]
        inv = _Invocation(f"{args['parent']}/workflowInvocations/{uuid.uuid4().hex[:12]}", compilation)
        with self._lock:
            self._invocations[inv.name] = inv
        thread = threading.Thread(
            target=self._execute,
            args=(
                inv,
                vars_,
                list(config.get("includedTags") or []),
                targets,
                bool(config.get("transitiveDependenciesIncluded")),
                bool(config.get("fullyRefreshIncrementalTablesEnabled")),
            ),
            name=f"dataform-{inv.name.rsplit('/', 1)[-1]}",
            daemon=True,
        )
        thread.start()
        return self._describe(inv)

    def _execute(
        self,
        inv: _Invocation,
        vars_: dict[str, str],
        tags: list[str],
        targets: list[str],
        transitive: bool,
        full_refresh: bool,
    ) -> None:
        try:
            with self._run_lock:
                result = run(
                    self.project_dir,
                    self.settings,
                    tags=tags,
                    actions=targets,
                    vars=vars_,
                    full_refresh=full_refresh,
                    include_dependencies=transitive,
                )
            state = "SUCCEEDED" if result.ok else "FAILED"
            failures = result.describe_failures()
            actions = [
                {"target": a.name, "state": a.status.upper(), "seconds": a.seconds} for a in result.actions
            ]
        except Exception as exc:  # the invocation fails; the workflow sees FAILED, not a crash
            state, failures, actions = "FAILED", f"{type(exc).__name__}: {exc}", []
        with self._lock:
            inv.state, inv.failures, inv.actions, inv.end = state, failures, actions, rfc3339_now()

    def get_invocation(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            inv = self._invocations.get(args["name"])
            if inv is None:
                raise errors.make("HttpError", f"workflow invocation {args['name']} not found", code=404)
            return self._describe(inv)

    @staticmethod
    def _describe(inv: _Invocation) -> dict[str, Any]:
        timing = {"startTime": inv.start, **({"endTime": inv.end} if inv.end else {})}
        out: dict[str, Any] = {
            "name": inv.name,
            "compilationResult": inv.compilation,
            "state": inv.state,
            "invocationTiming": timing,
        }
        if inv.failures:
            out["failureReason"] = inv.failures
        if inv.actions:
            out["actions"] = inv.actions
        return out
