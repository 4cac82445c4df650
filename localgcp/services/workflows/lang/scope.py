"""Variable scopes and assignment targets (``a``, ``a.b``, ``a.b[0]["c"]``).

A subworkflow call starts a fresh scope; a ``for`` iteration and a ``parallel`` branch open a
child scope, so variables they create vanish with them while assignments to existing outer
variables land outside. A branch may only write the outer variables listed in ``shared``.
Values have copy semantics: assigning a list or map stores a copy.
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from localgcp.services.workflows import errors
from localgcp.services.workflows.lang.expr_parser import Node, parse_expression
from localgcp.services.workflows.lang.expressions import Evaluator, get_key, type_name


class Scope:
    def __init__(self, parent: Scope | None = None, shared: set[str] | None = None) -> None:
        self.vars: dict[str, Any] = {}
        self.parent = parent
        self.shared = shared  # not None: this scope is a parallel branch

    def owner(self, name: str) -> Scope | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return scope
            scope = scope.parent
        return None

    def has(self, name: str) -> bool:
        return self.owner(name) is not None

    def get(self, name: str) -> Any:
        owner = self.owner(name)
        if owner is None:
            raise errors.key_error(f"variable not found: {name}")
        return owner.vars[name]

    def define(self, name: str, value: Any) -> None:
        self.vars[name] = value

    def writable_owner(self, name: str) -> Scope | None:
        """The scope an assignment to ``name`` updates (None: create it here)."""
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return scope
            if scope.shared is not None and name not in scope.shared:
                outer = scope.parent.owner(name) if scope.parent else None
                if outer is not None:
                    raise errors.value_error(
                        f"variable {name!r} belongs to the enclosing scope; list it in the parallel "
                        "step's 'shared' to assign it in a branch"
                    )
                return None
            scope = scope.parent
        return None


def value_size(value: Any) -> int:
    """Approximate bytes a value takes, as its JSON encoding."""
    if value is None or isinstance(value, bool | int | float):
        return 8
    if isinstance(value, str | bytes):
        return len(value)
    return len(json.dumps(value, default=lambda v: "x" * len(v) if isinstance(v, bytes) else str(v)))


class Assigner:
    """Performs ``assign`` items and ``result:`` bindings under one lock per execution."""

    def __init__(self, max_variable_bytes: int) -> None:
        self.max_variable_bytes = max_variable_bytes
        self.lock = threading.RLock()

    def assign(self, scope: Scope, target: str, value: Any, evaluator: Evaluator) -> None:
        node = parse_expression(target)
        if node[0] not in ("name", "attr", "index"):
            raise errors.value_error(f"cannot assign to {target!r}")
        if isinstance(value, list | dict):
            value = copy.deepcopy(value)
        with self.lock:
            root = node
            while root[0] != "name":
                root = root[1]
            if node[0] == "name":
                self._set_variable(scope, node[1], value)
            else:
                container = self._container(scope, node[1], evaluator)
                key = node[2] if node[0] == "attr" else evaluator.eval_node(node[2])
                _store(container, key, value)
            self._check_size(root[1], scope.get(root[1]))

    def _set_variable(self, scope: Scope, name: str, value: Any) -> None:
        owner = scope.writable_owner(name) or scope
        owner.vars[name] = value

    def _container(self, scope: Scope, node: Node, evaluator: Evaluator) -> Any:
        if node[0] == "name":
            if not scope.has(node[1]):
                self._set_variable(scope, node[1], {})
            owner = scope.writable_owner(node[1]) or scope
            return owner.vars[node[1]]
        if node[0] not in ("attr", "index"):
            raise errors.value_error("invalid assignment target")
        parent = self._container(scope, node[1], evaluator)
        key = node[2] if node[0] == "attr" else evaluator.eval_node(node[2])
        if isinstance(parent, dict) and isinstance(key, str) and key not in parent:
            parent[key] = {}
        return get_key(parent, key)

    def _check_size(self, name: str, value: Any) -> None:
        size = value_size(value)
        if size > self.max_variable_bytes:
            raise errors.make(
                "ResourceLimitError",
                f"variable {name!r} is {size} bytes, over the {self.max_variable_bytes}-byte memory limit",
            )


def _store(container: Any, key: Any, value: Any) -> None:
    if isinstance(container, dict):
        if not isinstance(key, str):
            raise errors.type_error(f"map key must be a string, got {type_name(key)}")
        container[key] = value
    elif isinstance(container, list):
        if not isinstance(key, int) or isinstance(key, bool):
            raise errors.type_error(f"list index must be an integer, got {type_name(key)}")
        if not 0 <= key < len(container):
            raise errors.make("IndexError", f"list index out of range: {key}")
        container[key] = value
    else:
        raise errors.type_error(f"cannot assign into {type_name(container)}")
