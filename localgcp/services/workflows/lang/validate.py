"""Deploy-time checks of what a parsed workflow refers to, as strict as the real service's:

- every ``next`` names ``end``/``break``/``continue`` or a step it can reach: one in its own list
  or an enclosing one of the same subworkflow, never out of a parallel branch;
- every ``call`` names a subworkflow, a standard-library function or a published connector method
  (or one a local ``ConnectorRegistry`` provides);
- every expression parses and calls only known functions, and none of the blocking functions the
  expressions reference says run only from a ``call`` step (``http.*``, ``sys.log``,
  ``sys.sleep``, ``events.await_callback``, ``experimental.executions.*``; ``gke.*`` likewise).
  A subworkflow that makes such calls may be called in an expression. Connector methods
  (``googleapis.*``) may be called in an expression with positional arguments, as Google's own
  Secret Manager connector sample does, though the reference lists them as blocking;
- a parallel branch assigns a variable of the enclosing scope only when ``shared`` lists it.

Each failure is a ``DefinitionError`` naming the subworkflow and the step.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from localgcp.services.workflows import stdlib
from localgcp.services.workflows.catalog import check_connector
from localgcp.services.workflows.errors import DefinitionError, WorkflowError
from localgcp.services.workflows.lang.expr_parser import Node, expression_source, parse_expression
from localgcp.services.workflows.lang.model import Step, Workflow
from localgcp.services.workflows.stdlib.more import GKE_FUNCTIONS

if TYPE_CHECKING:
    from localgcp.services.workflows.connectors import ConnectorRegistry

JUMP_KEYWORDS = ("end", "break", "continue")
#: functions the expressions reference lists as blocking (besides every ``googleapis.*``)
BLOCKING = frozenset(
    {
        "events.await_callback",
        "experimental.executions.map",
        "experimental.executions.run",
        "sys.log",
        "sys.sleep",
        *GKE_FUNCTIONS,
    }
    | {name for name in stdlib.FUNCTIONS if name.startswith("http.") and "retry_predicate" not in name}
)


def validate_workflow(workflow: Workflow, connectors: ConnectorRegistry | None = None) -> None:
    for routine in workflow.subworkflows.values():
        where = _Where(routine.name)
        _check_jumps(routine.steps, set(), where)
        for step in _all_steps(routine.steps):
            _check_call(step, workflow, connectors, where)
            for source in _expressions(step):
                _check_expression(source, step, workflow, connectors, where)
        _check_shared(routine.steps, {p.name for p in routine.params}, where)


class _Where:
    def __init__(self, routine: str) -> None:
        self.routine = routine

    def fail(self, step: Step, why: str) -> DefinitionError:
        return DefinitionError(f"step {step.name!r} in {self.routine}: {why}")


# --- structure ----------------------------------------------------------------------------------
def _children(step: Step) -> list[tuple[list[Step], str]]:
    """Nested step lists with how they scope: "same" (the enclosing scope), "loop", "branch"."""
    spec = step.spec
    if step.kind == "steps":
        return [(spec["steps"], "same")]
    if step.kind == "switch":
        return [(c["steps"], "same") for c in spec["switch"] if "steps" in c]
    if step.kind == "for":
        return [(spec["for"]["steps"], "loop")]
    if step.kind == "try":
        nested = [(spec["try"], "same")]
        return nested + ([(spec["except"]["steps"], "same")] if "except" in spec else [])
    if step.kind == "parallel":
        par = spec["parallel"]
        if "for" in par:
            return [(par["for"]["steps"], "branch")]
        return [(steps, "branch") for _, steps in par["branches"]]
    return []


def _all_steps(steps: list[Step]) -> Iterator[Step]:
    for step in steps:
        yield step
        for nested, _ in _children(step):
            yield from _all_steps(nested)


# --- next -----------------------------------------------------------------------------------------
def _check_jumps(steps: list[Step], outer: set[str], where: _Where) -> None:
    reachable = outer | {step.name for step in steps}
    for step in steps:
        targets = [step.next] if step.next is not None else []
        if step.kind == "switch":
            targets += [str(c["next"]) for c in step.spec["switch"] if "next" in c]
        for target in targets:
            if target not in JUMP_KEYWORDS and target not in reachable:
                raise where.fail(step, f"next: there is no step {target!r} to jump to from here")
        for nested, scoping in _children(step):
            _check_jumps(nested, set() if scoping == "branch" else reachable, where)


# --- calls ----------------------------------------------------------------------------------------
def _check_call(step: Step, workflow: Workflow, connectors: ConnectorRegistry | None, where: _Where) -> None:
    if step.kind != "call":
        return
    name = str(step.spec["call"])
    if name in workflow.subworkflows or name in stdlib.FUNCTIONS:
        return
    if name.startswith("googleapis."):
        if connectors is not None and connectors.has(name):
            return
        why = check_connector(name)
        if why is not None:
            raise where.fail(step, f"unknown connector {name}: {why}")
        return
    raise where.fail(step, f"calls unknown function {name!r}")


# --- expressions ----------------------------------------------------------------------------------
def _values(value: Any) -> Iterator[str]:
    """Every ``${...}`` source inside a YAML value, map keys included."""
    source = expression_source(value)
    if source is not None:
        yield source
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _values(key)
            yield from _values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _values(item)


def _assignments(items: list[dict[str, Any]]) -> Iterator[str]:
    for item in items:
        ((target, value),) = item.items()
        yield str(target)  # an assignment target is an expression without ${}
        yield from _values(value)


def _expressions(step: Step) -> Iterator[str]:
    spec, kind = step.spec, step.kind
    if kind == "assign":
        yield from _assignments(spec["assign"])
    elif kind == "call":
        yield from _values(spec.get("args"))
        if spec.get("result"):
            yield str(spec["result"])
    elif kind == "switch":
        for condition in spec["switch"]:
            yield from _values(condition["condition"])
            yield from _assignments(condition.get("assign") or [])
            yield from _values(condition.get("return"))
            yield from _values(condition.get("raise"))
    elif kind == "for":
        yield from _values([spec["for"].get("in"), spec["for"].get("range")])
    elif kind == "parallel":
        par = spec["parallel"]
        yield from _values(par.get("concurrency_limit"))
        if "for" in par:
            yield from _values([par["for"].get("in"), par["for"].get("range")])
    elif kind == "try":
        yield from _values(spec.get("retry"))
    elif kind in ("raise", "return"):
        yield from _values(spec[kind])


def _dotted(node: Node) -> str | None:
    if node[0] == "name":
        return str(node[1])
    if node[0] == "attr":
        base = _dotted(node[1])
        return f"{base}.{node[2]}" if base is not None else None
    return None


def _calls(node: Node) -> Iterator[str]:
    kind = node[0]
    if kind == "call":
        dotted = _dotted(node[1])
        if dotted is not None:
            yield dotted
        else:
            yield from _calls(node[1])
        for arg in node[2]:
            yield from _calls(arg)
    elif kind in ("attr",):
        yield from _calls(node[1])
    elif kind == "index":
        yield from _calls(node[1])
        yield from _calls(node[2])
    elif kind == "list":
        for item in node[1]:
            yield from _calls(item)
    elif kind == "map":
        for key, value in node[1]:
            yield from _calls(key)
            yield from _calls(value)
    elif kind == "unary":
        yield from _calls(node[2])
    elif kind == "bin":
        yield from _calls(node[2])
        yield from _calls(node[3])


def _check_expression(
    source: str, step: Step, workflow: Workflow, connectors: ConnectorRegistry | None, where: _Where
) -> None:
    try:
        node = parse_expression(source)
    except WorkflowError as err:
        raise where.fail(step, str(err)) from None
    for name in _calls(node):
        if name in workflow.subworkflows:
            continue
        if name.startswith("googleapis."):
            if not (connectors is not None and connectors.has(name)):
                why = check_connector(name)
                if why is not None:
                    raise where.fail(step, f"unknown connector {name} in expression: {why}")
            continue
        if name in BLOCKING:
            raise where.fail(
                step,
                f"{name} is a blocking call and cannot be used in an expression; "
                "call it from a call step (or from a subworkflow called in the expression)",
            )
        if name not in stdlib.FUNCTIONS:
            raise where.fail(step, f"unknown function {name!r} in expression ${{{source.strip()}}}")


# --- parallel shared variables --------------------------------------------------------------------
def _root(target: str) -> str | None:
    try:
        node = parse_expression(target)
    except WorkflowError:
        return None
    while node[0] in ("attr", "index"):
        node = node[1]
    return str(node[1]) if node[0] == "name" else None


def _defines(step: Step) -> Iterator[str]:
    """Variables a step itself assigns (not those of its nested steps)."""
    spec = step.spec
    targets: list[str] = []
    if step.kind == "assign":
        targets = [str(next(iter(item))) for item in spec["assign"]]
    elif step.kind == "call" and spec.get("result"):
        targets = [str(spec["result"])]
    elif step.kind == "switch":
        targets = [str(next(iter(item))) for c in spec["switch"] for item in c.get("assign") or []]
    elif step.kind == "try" and spec.get("except", {}).get("as"):
        targets = [str(spec["except"]["as"])]
    for target in targets:
        root = _root(target)
        if root is not None:
            yield root


def _loop_vars(step: Step) -> set[str]:
    loop = step.spec["for"] if step.kind == "for" else step.spec["parallel"].get("for") or {}
    return {str(loop[key]) for key in ("value", "index") if key in loop}


def _writes(steps: list[Step], local: set[str]) -> Iterator[tuple[str, Step]]:
    """Every variable assigned in ``steps`` and below, except loop variables of nested loops."""
    for step in steps:
        for name in _defines(step):
            if name not in local:
                yield name, step
        loop_vars = _loop_vars(step) if step.kind in ("for", "parallel") else set()
        for nested, _ in _children(step):
            yield from _writes(nested, local | loop_vars)


def _check_shared(steps: list[Step], visible: set[str], where: _Where) -> None:
    """Walk one scope in document order; ``visible`` grows with what it defines."""
    for step in steps:
        if step.kind == "parallel":
            par = step.spec["parallel"]
            shared = {str(name) for name in par.get("shared") or []}
            loop_vars = _loop_vars(step)
            for branch, _ in _children(step):
                for name, writer in _writes(branch, loop_vars):
                    if name in visible and name not in shared:
                        raise where.fail(
                            writer,
                            f"assigns {name!r}, a variable of the scope enclosing parallel step "
                            f"{step.name!r}; list it in that step's 'shared' to assign it in a branch",
                        )
                _check_shared(branch, visible | loop_vars, where)
            continue
        visible.update(_defines(step))
        for nested, scoping in _children(step):
            if scoping == "same":
                _check_shared(nested, visible, where)
            else:  # a for loop: what its body creates vanishes with it
                _check_shared(nested, visible | _loop_vars(step), where)
