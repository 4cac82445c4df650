"""The interpreter: runs a parsed workflow as Cloud Workflows does.

``Execution(workflow, ...).run(argument)`` returns the workflow's result or raises
``WorkflowError`` (an unhandled error), ``Cancelled`` or ``ResourceLimitError``-tagged errors
for the service's limits (steps executed, call depth, variable size).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localgcp.services.workflows import errors, stdlib
from localgcp.services.workflows.callbacks import CallbackHub, default_hub
from localgcp.services.workflows.catalog import check_connector, positional_names
from localgcp.services.workflows.connectors import ConnectorRegistry
from localgcp.services.workflows.lang.control import loop_items, run_parallel, run_try
from localgcp.services.workflows.lang.expressions import Evaluator
from localgcp.services.workflows.lang.model import Frame, Limits, Step, Subworkflow, Workflow
from localgcp.services.workflows.lang.scope import Assigner, Scope
from localgcp.services.workflows.lang.validate import validate_workflow
from localgcp.services.workflows.signals import Break, Cancelled, Continue, End, Jump, Return

log = logging.getLogger("localgcp.services.workflows")
#: runs another deployed workflow to its end:
#: (workflow id, argument, timeout s, project, location, the caller's cancel flag)
WorkflowRunner = Callable[[str, Any, float, str | None, str | None, threading.Event], Any]


def project_number(project_id: str, override: str = "") -> str:
    """The project's number: ``override`` when set (the service context's), else a 12-digit
    number derived from the project id, the same on every machine and run."""
    if override:
        return override
    digest = int.from_bytes(hashlib.sha256(project_id.encode()).digest()[:8], "big")
    return str(100_000_000_000 + digest % 900_000_000_000)


class _View:
    """What expressions see from one frame and scope."""

    def __init__(self, execution: Execution, frame: Frame, scope: Scope) -> None:
        self.execution, self.frame, self.scope = execution, frame, scope

    def has_variable(self, name: str) -> bool:
        return self.scope.has(name)

    def get_variable(self, name: str) -> Any:
        return self.scope.get(name)

    def is_function(self, name: str) -> bool:
        if name in self.execution.workflow.subworkflows or name in stdlib.FUNCTIONS:
            return True
        return name.startswith("googleapis.") and (
            self.execution.connectors.has(name) or check_connector(name) is None
        )

    def is_namespace(self, name: str) -> bool:
        return name in stdlib.NAMESPACES or name in stdlib.POLICY_REFS

    def call_function(self, name: str, args: list[Any]) -> Any:
        if name in self.execution.workflow.subworkflows:
            return self.execution.call_subworkflow(name, args, self.frame.depth + 1)
        if name.startswith("googleapis."):
            return self.execution.call_connector_positionally(name, args)
        return stdlib.call(self.execution, name, args)


@dataclass
class Execution:
    workflow: Workflow
    env: dict[str, str] = field(default_factory=dict)
    connectors: ConnectorRegistry = field(default_factory=ConnectorRegistry)
    limits: Limits = field(default_factory=Limits)
    time_scale: float = 1.0
    cancel_event: threading.Event = field(default_factory=threading.Event)
    on_log: Callable[[str, Any], None] | None = None
    #: the hub serving this execution's callback endpoints (default: a process-wide one)
    callbacks: CallbackHub | None = None
    #: how ``experimental.executions.*`` start other workflows (the service provides it)
    workflow_runner: WorkflowRunner | None = None

    def __post_init__(self) -> None:
        self.steps_executed = 0
        self.logs: list[dict[str, Any]] = []
        self.step_stats: dict[str, list[float]] = {}
        self.current: dict[int, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self.assigner = Assigner(self.limits.max_variable_bytes)
        project = self.env.get("GOOGLE_CLOUD_PROJECT_ID")
        if project and "GOOGLE_CLOUD_PROJECT_NUMBER" not in self.env:
            self.env = {**self.env, "GOOGLE_CLOUD_PROJECT_NUMBER": project_number(project)}
        self._id = self.env.get("GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID") or uuid.uuid4().hex
        validate_workflow(self.workflow, self.connectors)

    # --- host services for the library --------------------------------------------------------
    def log(self, severity: str, payload: Any) -> None:
        entry = {"time": time.time(), "severity": severity, "payload": payload}
        with self._lock:
            self.logs.append(entry)
        log.info("workflow log %s: %s", severity, payload)
        if self.on_log is not None:
            self.on_log(severity, payload)

    def sleep(self, seconds: float) -> None:
        if self.cancel_event.wait(max(0.0, seconds * self.time_scale)):
            raise Cancelled()

    @property
    def resource_name(self) -> str:
        env = self.env
        return (
            f"projects/{env.get('GOOGLE_CLOUD_PROJECT_ID', 'local')}"
            f"/locations/{env.get('GOOGLE_CLOUD_LOCATION', 'local')}"
            f"/workflows/{env.get('GOOGLE_CLOUD_WORKFLOW_ID', 'workflow')}/executions/{self._id}"
        )

    def callback_hub(self) -> CallbackHub:
        if self.callbacks is None:
            self.callbacks = default_hub()
        return self.callbacks

    def run_workflow(
        self, workflow_id: str, argument: Any, timeout: float, project: str | None, location: str | None
    ) -> Any:
        if self.workflow_runner is None:
            raise errors.make(
                "UnimplementedError",
                f"starting workflow {workflow_id!r} needs the local Workflows service, which deploys "
                "a folder of workflows (WorkflowsService); this execution runs on its own",
            )
        return self.workflow_runner(workflow_id, argument, timeout, project, location, self.cancel_event)

    # --- entry points -------------------------------------------------------------------------
    def run(self, argument: Any = None) -> Any:
        main = self.workflow.main
        args = [argument] if main.params else []
        try:
            return self.call_subworkflow("main", args, 0)
        finally:
            if self.callbacks is not None:
                self.callbacks.release(self.resource_name)

    def evaluator(self, frame: Frame, scope: Scope) -> Evaluator:
        return Evaluator(_View(self, frame, scope))

    def call_subworkflow(self, name: str, args: list[Any] | dict[str, Any], depth: int) -> Any:
        if depth > self.limits.max_call_depth:
            raise errors.make(
                "RecursionError", f"maximum call stack depth {self.limits.max_call_depth} exceeded"
            )
        routine = self.workflow.subworkflows[name]
        frame, scope = Frame(name, depth), Scope()
        for param, value in _bind(routine, args).items():
            scope.define(param, value)
        try:
            self.run_steps(routine.steps, frame, scope)
        except Return as ret:
            return ret.value
        except End:
            return None
        except (Break, Continue):
            raise errors.make("SyntaxError", f"break/continue outside a loop in {name}") from None
        except Jump as jump:
            raise errors.make("SyntaxError", f"next: step {jump.target!r} not found in {name}") from None
        return None

    # --- steps --------------------------------------------------------------------------------
    def run_steps(self, steps: list[Step], frame: Frame, scope: Scope) -> None:
        names = {step.name: i for i, step in enumerate(steps)}
        index = 0
        while index < len(steps):
            try:
                target = self.run_step(steps[index], frame, scope)
            except Jump as jump:
                if jump.target not in names:
                    raise
                index = names[jump.target]
                continue
            if target is None:
                index += 1
            elif target == "end":
                raise End()
            elif target == "break":
                raise Break()
            elif target == "continue":
                raise Continue()
            elif target in names:
                index = names[target]
            else:
                raise Jump(target)

    def run_step(self, step: Step, frame: Frame, scope: Scope) -> str | None:
        if self.cancel_event.is_set():
            raise Cancelled()
        with self._lock:
            self.steps_executed += 1
            over = self.steps_executed > self.limits.max_steps
            self.current[threading.get_ident()] = (frame.routine, step.name)
        if over:
            raise errors.make("ResourceLimitError", f"more than {self.limits.max_steps} steps executed")
        started = time.perf_counter()
        try:
            return self._dispatch(step, frame, scope)
        except errors.WorkflowError as err:
            if not err.trace or err.trace[-1] != (frame.routine, step.name):
                err.trace.append((frame.routine, step.name))
            raise
        finally:
            key = f"{frame.routine}.{step.name}"
            with self._lock:
                stats = self.step_stats.setdefault(key, [0, 0.0])
                stats[0] += 1
                stats[1] += time.perf_counter() - started

    def _dispatch(self, step: Step, frame: Frame, scope: Scope) -> str | None:
        spec, kind = step.spec, step.kind
        ev = self.evaluator(frame, scope)
        if kind == "assign":
            self.assign_all(spec["assign"], scope, ev)
        elif kind == "call":
            result = self.call(spec["call"], ev.resolve(spec.get("args") or {}), frame)
            if spec.get("result"):
                self.assigner.assign(scope, str(spec["result"]), result, ev)
        elif kind == "switch":
            return self._switch(step, frame, scope, ev)
        elif kind == "for":
            self._loop(spec["for"], frame, scope, ev)
        elif kind == "parallel":
            run_parallel(self, spec["parallel"], frame, scope)
        elif kind == "try":
            run_try(self, spec, frame, scope)
        elif kind == "raise":
            raise errors.WorkflowError(ev.resolve(spec["raise"]))
        elif kind == "return":
            raise Return(ev.resolve(spec["return"]))
        elif kind == "steps":
            self.run_steps(spec["steps"], frame, scope)
        return step.next

    def assign_all(self, items: list[dict[str, Any]], scope: Scope, ev: Evaluator) -> None:
        for item in items:
            ((target, value),) = item.items()
            self.assigner.assign(scope, str(target), ev.resolve(value), ev)

    def call(self, name: str, args: Any, frame: Frame) -> Any:
        if not isinstance(args, dict):
            raise errors.type_error(f"args of {name} must be a map")
        if name in self.workflow.subworkflows:
            return self.call_subworkflow(name, args, frame.depth + 1)
        if name.startswith("googleapis."):
            return self.connectors.invoke(name, args, self.sleep)
        return stdlib.call(self, name, kwargs=args)

    def call_connector_positionally(self, name: str, args: list[Any]) -> Any:
        """A connector called inside an expression: positional arguments bind to the method's
        required parameters in order (then ``body``), as its reference lists them."""
        order = positional_names(name)
        if order is None:
            raise errors.type_error(
                f"{name}: its positional arguments are not known here; call it from a call step"
            )
        if len(args) > len(order):
            raise errors.type_error(
                f"{name} takes at most {len(order)} arguments ({', '.join(order)}), got {len(args)}"
            )
        return self.connectors.invoke(name, dict(zip(order, args, strict=False)), self.sleep)

    def _switch(self, step: Step, frame: Frame, scope: Scope, ev: Evaluator) -> str | None:
        for condition in step.spec["switch"]:
            matched = ev.resolve(condition["condition"])
            if not isinstance(matched, bool):
                raise errors.type_error(f"switch condition must be a boolean, got {matched!r}")
            if not matched:
                continue
            if "assign" in condition:
                self.assign_all(condition["assign"], scope, ev)
            if "steps" in condition:
                self.run_steps(condition["steps"], frame, scope)
            if "raise" in condition:
                raise errors.WorkflowError(ev.resolve(condition["raise"]))
            if "return" in condition:
                raise Return(ev.resolve(condition["return"]))
            return str(condition["next"]) if "next" in condition else step.next
        return step.next

    def _loop(self, spec: dict[str, Any], frame: Frame, scope: Scope, ev: Evaluator) -> None:
        for index, value in loop_items(spec, ev):
            child = Scope(scope)
            child.define(str(spec["value"]), value)
            if "index" in spec:
                child.define(str(spec["index"]), index)
            try:
                self.run_steps(spec["steps"], frame, child)
            except Continue:
                continue
            except Break:
                break


def _bind(routine: Subworkflow, args: list[Any] | dict[str, Any]) -> dict[str, Any]:
    names = [p.name for p in routine.params]
    if isinstance(args, list):
        if len(args) > len(names):
            raise errors.type_error(f"{routine.name} takes {len(names)} arguments, got {len(args)}")
        given = dict(zip(names, args, strict=False))
    else:
        unknown = set(args) - set(names)
        if unknown:
            raise errors.type_error(f"{routine.name}: unexpected arguments {sorted(unknown)}")
        given = dict(args)
    bound: dict[str, Any] = {}
    for param in routine.params:
        if param.name in given:
            bound[param.name] = given[param.name]
        elif param.required:
            if routine.name == "main":
                bound[param.name] = None
                continue
            raise errors.type_error(f"{routine.name}: missing argument {param.name!r}")
        else:
            bound[param.name] = param.default
    return bound
