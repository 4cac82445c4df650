"""Workflow definitions: YAML (or JSON) text → subworkflows of named, validated steps.

Checks the shape the service checks at deploy time: one key per step, known step fields, no
conflicting step kinds, unique step names per subworkflow, a ``main``; then ``validate`` checks
what the steps refer to (jump targets, functions, connectors, shared variables).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from localgcp.services.workflows.errors import DefinitionError
from localgcp.services.workflows.lang.model import Param, Step, Subworkflow, Workflow
from localgcp.services.workflows.lang.validate import validate_workflow

if TYPE_CHECKING:
    from localgcp.services.workflows.connectors import ConnectorRegistry

__all__ = ["Param", "Step", "Subworkflow", "Workflow", "load_workflow", "parse_workflow"]
_KINDS = ("assign", "call", "switch", "for", "parallel", "try", "raise", "return", "steps")
_ALLOWED = {
    "assign": {"assign", "next"},
    "call": {"call", "args", "result", "next"},
    "switch": {"switch", "next"},
    "for": {"for", "next"},
    "parallel": {"parallel", "next"},
    "try": {"try", "retry", "except", "next"},
    "raise": {"raise"},
    "return": {"return"},
    "steps": {"steps", "next"},
    "next": {"next"},
}


def load_workflow(path: str | Path, connectors: ConnectorRegistry | None = None) -> Workflow:
    return parse_workflow(Path(path).read_text(), connectors)


def parse_workflow(source: str, connectors: ConnectorRegistry | None = None) -> Workflow:
    """Parse and validate a definition as deployment does; ``connectors`` adds locally
    registered connector methods to the published ones a ``call`` may name."""
    workflow = _parse(source)
    validate_workflow(workflow, connectors)
    return workflow


def _parse(source: str) -> Workflow:
    try:
        document = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise DefinitionError(f"workflow is not valid YAML: {exc}") from None
    if isinstance(document, list):
        return Workflow({"main": Subworkflow("main", [], _steps(document, "main", set()))})
    if not isinstance(document, dict) or "main" not in document:
        raise DefinitionError("a workflow is a list of steps or a map of subworkflows including 'main'")
    workflow = Workflow()
    for name, body in document.items():
        if not isinstance(body, dict) or "steps" not in body:
            raise DefinitionError(f"subworkflow {name!r} needs 'steps'")
        unknown = set(body) - {"params", "steps"}
        if unknown:
            raise DefinitionError(f"subworkflow {name!r}: unknown fields {sorted(unknown)}")
        workflow.subworkflows[str(name)] = Subworkflow(
            str(name), _params(body.get("params") or [], str(name)), _steps(body["steps"], str(name), set())
        )
    return workflow


def _params(raw: Any, routine: str) -> list[Param]:
    if not isinstance(raw, list):
        raise DefinitionError(f"{routine}: params must be a list")
    params: list[Param] = []
    for item in raw:
        if isinstance(item, str):
            params.append(Param(item))
        elif isinstance(item, dict) and len(item) == 1:
            ((name, default),) = item.items()
            params.append(Param(str(name), default))
        else:
            raise DefinitionError(f"{routine}: bad parameter {item!r}")
    return params


def _steps(raw: Any, routine: str, seen: set[str]) -> list[Step]:
    if not isinstance(raw, list) or not raw:
        raise DefinitionError(f"{routine}: 'steps' must be a non-empty list")
    return [_step(item, routine, seen) for item in raw]


def _step(item: Any, routine: str, seen: set[str]) -> Step:
    if not isinstance(item, dict) or len(item) != 1:
        raise DefinitionError(f"{routine}: each step is a map with exactly one key (its name): {item!r}")
    ((name, body),) = item.items()
    name = str(name)
    if name in seen:
        raise DefinitionError(f"{routine}: duplicate step name {name!r}")
    seen.add(name)
    if not isinstance(body, dict):
        raise DefinitionError(f"{routine}.{name}: step body must be a map")
    kinds = [k for k in _KINDS if k in body]
    if len(kinds) > 1:
        raise DefinitionError(f"{routine}.{name}: conflicting step kinds {kinds}")
    kind = kinds[0] if kinds else "next"
    if kind == "next" and "next" not in body:
        raise DefinitionError(f"{routine}.{name}: empty step")
    unknown = set(body) - _ALLOWED[kind]
    if unknown:
        raise DefinitionError(f"{routine}.{name}: unexpected fields {sorted(unknown)} in a {kind} step")
    spec = dict(body)
    where = f"{routine}.{name}"
    if kind == "assign":
        _check_assign(spec["assign"], where)
    elif kind == "steps":
        spec["steps"] = _steps(spec["steps"], routine, seen)
    elif kind == "switch":
        spec["switch"] = [_condition(c, routine, seen, where) for c in _list(spec["switch"], where, "switch")]
    elif kind == "for":
        spec["for"] = _loop(spec["for"], routine, seen, where)
    elif kind == "parallel":
        spec["parallel"] = _parallel(spec["parallel"], routine, seen, where)
    elif kind == "try":
        spec.update(_try(spec, routine, seen, where))
    next_target = body.get("next")
    return Step(name, kind, spec, str(next_target) if next_target is not None else None)


def _list(value: Any, where: str, what: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise DefinitionError(f"{where}: {what} must be a non-empty list")
    return value


def _check_assign(value: Any, where: str) -> None:
    for item in _list(value, where, "assign"):
        if not isinstance(item, dict) or len(item) != 1:
            raise DefinitionError(f"{where}: each assignment is a one-key map, got {item!r}")


def _condition(raw: Any, routine: str, seen: set[str], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or "condition" not in raw:
        raise DefinitionError(f"{where}: each switch entry needs a 'condition'")
    unknown = set(raw) - {"condition", "next", "steps", "return", "raise", "assign"}
    if unknown:
        raise DefinitionError(f"{where}: unexpected fields {sorted(unknown)} in a switch condition")
    condition = dict(raw)
    if "steps" in condition:
        condition["steps"] = _steps(condition["steps"], routine, seen)
    if "assign" in condition:
        _check_assign(condition["assign"], where)
    return condition


def _loop(raw: Any, routine: str, seen: set[str], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or "value" not in raw or "steps" not in raw:
        raise DefinitionError(f"{where}: 'for' needs 'value' and 'steps'")
    if ("in" in raw) == ("range" in raw):
        raise DefinitionError(f"{where}: 'for' needs exactly one of 'in' or 'range'")
    if "range" in raw and "index" in raw:
        raise DefinitionError(f"{where}: 'index' cannot be used with 'range'")
    unknown = set(raw) - {"value", "index", "in", "range", "steps"}
    if unknown:
        raise DefinitionError(f"{where}: unexpected fields {sorted(unknown)} in 'for'")
    return {**raw, "steps": _steps(raw["steps"], routine, seen)}


def _parallel(raw: Any, routine: str, seen: set[str], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or ("branches" in raw) == ("for" in raw):
        raise DefinitionError(f"{where}: 'parallel' needs exactly one of 'branches' or 'for'")
    unknown = set(raw) - {"branches", "for", "shared", "concurrency_limit", "exception_policy"}
    if unknown:
        raise DefinitionError(f"{where}: unexpected fields {sorted(unknown)} in 'parallel'")
    if raw.get("exception_policy", "continueAll") != "continueAll":
        raise DefinitionError(f"{where}: exception_policy must be continueAll")
    spec = dict(raw)
    if "for" in raw:
        spec["for"] = _loop(raw["for"], routine, seen, where)
        return spec
    branches: list[tuple[str, list[Step]]] = []
    for branch in _list(raw["branches"], where, "branches"):
        if not isinstance(branch, dict) or len(branch) != 1:
            raise DefinitionError(f"{where}: each branch is a one-key map")
        ((branch_name, body),) = branch.items()
        if not isinstance(body, dict) or "steps" not in body:
            raise DefinitionError(f"{where}: branch {branch_name!r} needs 'steps'")
        branches.append((str(branch_name), _steps(body["steps"], routine, seen)))
    spec["branches"] = branches
    return spec


def _try(spec: dict[str, Any], routine: str, seen: set[str], where: str) -> dict[str, Any]:
    body = spec["try"]
    if not isinstance(body, dict):
        raise DefinitionError(f"{where}: 'try' must be a map")
    if "steps" in body:
        attempt = _steps(body["steps"], routine, seen)
    else:  # a single call (or other step body) written inline under try
        attempt = [_step({where.rsplit(".", 1)[-1]: body}, routine, set())]
    out: dict[str, Any] = {"try": attempt}
    handler = spec.get("except")
    if handler is not None:
        if not isinstance(handler, dict) or "steps" not in handler:
            raise DefinitionError(f"{where}: 'except' needs 'steps'")
        out["except"] = {"as": handler.get("as"), "steps": _steps(handler["steps"], routine, seen)}
    return out
