"""``try``/``retry``/``except`` and ``parallel`` (branches and parallel ``for``) steps."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from localgcp.services.workflows import errors, stdlib
from localgcp.services.workflows.lang.expressions import Evaluator, FunctionRef
from localgcp.services.workflows.lang.model import Frame, Limits, Step, Workflow
from localgcp.services.workflows.lang.scope import Assigner, Scope
from localgcp.services.workflows.signals import Break, Cancelled, Continue, End, Return
from localgcp.services.workflows.stdlib.core import Host


class Execution(Host, Protocol):
    """What these steps need of the interpreter (``runtime.Execution``)."""

    workflow: Workflow
    limits: Limits
    assigner: Assigner

    def evaluator(self, frame: Frame, scope: Scope) -> Evaluator: ...

    def run_steps(self, steps: list[Step], frame: Frame, scope: Scope) -> None: ...

    def call_subworkflow(self, name: str, args: list[Any] | dict[str, Any], depth: int) -> Any: ...


_DEFAULT_BACKOFF = {"initial_delay": 1.0, "max_delay": 60.0, "multiplier": 1.25}
_POLICIES = {
    "http.default_retry": "http.default_retry_predicate",
    "http.default_retry_non_idempotent": "http.default_retry_predicate_non_idempotent",
}


@dataclass
class RetryPolicy:
    predicate: str
    max_retries: int
    initial_delay: float
    max_delay: float
    multiplier: float


def retry_policy(raw: Any) -> RetryPolicy:
    """A resolved ``retry:`` value: a default policy reference or a custom policy map."""
    if isinstance(raw, FunctionRef) and raw.name in _POLICIES:
        return RetryPolicy(_POLICIES[raw.name], 5, **_DEFAULT_BACKOFF)
    if not isinstance(raw, dict) or not isinstance(raw.get("predicate"), FunctionRef):
        raise errors.value_error(f"retry must be a policy or a map with a predicate, got {raw!r}")
    backoff = raw.get("backoff")
    backoff = _DEFAULT_BACKOFF if backoff is None or isinstance(backoff, FunctionRef) else backoff
    merged = {**_DEFAULT_BACKOFF, **backoff}
    return RetryPolicy(
        raw["predicate"].name,
        int(raw.get("max_retries", 5)),
        float(merged["initial_delay"]),
        float(merged["max_delay"]),
        float(merged["multiplier"]),
    )


def run_try(execution: Execution, spec: dict[str, Any], frame: Frame, scope: Scope) -> None:
    ev = execution.evaluator(frame, scope)
    policy = retry_policy(ev.resolve(spec["retry"])) if "retry" in spec else None
    attempt = 0
    delay = policy.initial_delay if policy else 0.0
    while True:
        try:
            execution.run_steps(spec["try"], frame, scope)
            return
        except errors.WorkflowError as err:
            if (
                policy is not None
                and attempt < policy.max_retries
                and _should_retry(execution, policy, err, frame)
            ):
                attempt += 1
                execution.sleep(delay)
                delay = min(delay * policy.multiplier, policy.max_delay)
                continue
            handler = spec.get("except")
            if handler is None:
                raise
            if handler.get("as"):
                execution.assigner.assign(scope, str(handler["as"]), err.payload, ev)
            execution.run_steps(handler["steps"], frame, scope)
            return


def _should_retry(execution: Execution, policy: RetryPolicy, err: errors.WorkflowError, frame: Frame) -> bool:
    if policy.predicate in execution.workflow.subworkflows:
        verdict = execution.call_subworkflow(policy.predicate, [err.payload], frame.depth + 1)
    elif policy.predicate in stdlib.FUNCTIONS:
        verdict = stdlib.call(execution, policy.predicate, [err.payload])
    else:
        raise errors.value_error(f"unknown retry predicate {policy.predicate!r}")
    if not isinstance(verdict, bool):
        raise errors.type_error(f"retry predicate {policy.predicate} must return a boolean, got {verdict!r}")
    return verdict


def run_parallel(execution: Execution, spec: dict[str, Any], frame: Frame, scope: Scope) -> None:
    ev = execution.evaluator(frame, scope)
    shared = {str(name) for name in spec.get("shared") or []}
    for name in shared:
        if not scope.has(name):
            raise errors.key_error(f"shared variable {name!r} must be assigned before the parallel step")
    limit = int(ev.resolve(spec.get("concurrency_limit", execution.limits.max_concurrency)))
    limit = max(1, min(limit, execution.limits.max_concurrency))
    stop = threading.Event()
    failures: list[dict[str, Any]] = []
    fatal: list[BaseException] = []
    lock = threading.Lock()

    def run_branch(branch_id: str, steps: Any, loop_vars: dict[str, Any]) -> None:
        if stop.is_set():
            return
        child = Scope(scope, shared)
        for name, value in loop_vars.items():
            child.define(name, value)
        try:
            execution.run_steps(steps, frame, child)
        except (Continue, End):
            return
        except Break:
            stop.set()
        except Return:
            with lock:
                fatal.append(errors.make("SyntaxError", "return is not allowed inside a parallel step"))
        except errors.WorkflowError as err:
            with lock:
                failures.append({"id": branch_id, "error": err.payload})
        except (Cancelled, Exception) as exc:  # limits, cancellation, interpreter faults
            with lock:
                fatal.append(exc)
            stop.set()

    jobs: list[tuple[str, Any, dict[str, Any]]] = []
    if "branches" in spec:
        jobs = [(name, steps, {}) for name, steps in spec["branches"]]
    else:
        loop = spec["for"]
        for index, value in loop_items(loop, ev):
            loop_vars = {str(loop["value"]): value}
            if "index" in loop:
                loop_vars[str(loop["index"])] = index
            jobs.append((str(index), loop["steps"], loop_vars))
    with ThreadPoolExecutor(max_workers=limit, thread_name_prefix="wf-parallel") as pool:
        for future in [pool.submit(run_branch, *job) for job in jobs]:
            future.result()
    if fatal:
        raise fatal[0]
    if failures:
        raise errors.make(
            "UnhandledBranchError",
            "UnhandledBranchError: one or more branches or iterations encountered an unhandled runtime error",
            branches=sorted(failures, key=lambda f: str(f["id"])),
        )


def loop_items(spec: dict[str, Any], ev: Evaluator) -> Iterator[tuple[int, Any]]:
    """(index, value) pairs of a ``for``: a list, a map's keys, or an inclusive numeric range."""
    if "range" in spec:
        bounds = ev.resolve(spec["range"])
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise errors.value_error("for: range must be a list [start, end]")
        start, end = bounds
        current, index = start, 0
        while current <= end:
            yield index, current
            current, index = current + 1, index + 1
        return
    items = ev.resolve(spec["in"])
    if isinstance(items, dict):
        items = list(items)
    if not isinstance(items, list):
        raise errors.type_error("for: 'in' must be a list")
    yield from enumerate(items)
