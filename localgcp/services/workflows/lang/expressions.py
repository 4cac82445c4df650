"""Evaluation of ``${...}`` expressions with Workflows value semantics.

Values are plain Python: int, float (double), str, bool, None, list, dict, bytes. Integers and
doubles mix like the service (``/`` always yields a double); ``+`` concatenates strings; errors
are raised as Workflows errors (TypeError, KeyError, IndexError, ZeroDivisionError, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from localgcp.services.workflows import errors
from localgcp.services.workflows.lang.expr_parser import Node, expression_source, parse_expression


@dataclass(frozen=True)
class FunctionRef:
    """A function named but not called, e.g. ``${http.default_retry}`` or a predicate subworkflow."""

    name: str


class Resolver(Protocol):
    """What an expression can see: variables and callable names (stdlib and subworkflows)."""

    def has_variable(self, name: str) -> bool: ...

    def get_variable(self, name: str) -> Any: ...

    def is_function(self, name: str) -> bool: ...

    def is_namespace(self, name: str) -> bool: ...

    def call_function(self, name: str, args: list[Any]) -> Any: ...


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, FunctionRef):
        return "function"
    return type(value).__name__


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int_result(value: int) -> int:
    if not -(2**63) <= value < 2**63:
        raise errors.value_error("integer overflow")
    return value


def arithmetic(op: str, left: Any, right: Any) -> Any:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if op == "+" and isinstance(left, bytes) and isinstance(right, bytes):
        return left + right
    if not (is_number(left) and is_number(right)):
        raise errors.type_error(
            f"unsupported operand types for {op}: {type_name(left)} and {type_name(right)}"
        )
    both_int = isinstance(left, int) and isinstance(right, int)
    if op in ("/", "//", "%") and right == 0:
        raise errors.make("ZeroDivisionError", "division by zero")
    try:
        return _arithmetic(op, left, right, both_int)
    except (OverflowError, ValueError) as exc:  # an infinite or NaN double, an int too big for a double
        raise errors.value_error(f"{type_name(left)} {op} {type_name(right)}: {exc}") from None


def _arithmetic(op: str, left: Any, right: Any, both_int: bool) -> Any:
    if op == "+":
        result = left + right
    elif op == "-":
        result = left - right
    elif op == "*":
        result = left * right
    elif op == "/":
        return float(left) / float(right)
    elif op == "//":
        result = left // right if both_int else float(math.floor(left / right))
    else:
        result = left % right if both_int else math.fmod(left, right)
    return _int_result(result) if both_int else float(result)


def equal(left: Any, right: Any) -> bool:
    if is_number(left) and is_number(right):
        return bool(left == right)
    if type_name(left) != type_name(right):
        return False
    if isinstance(left, list):
        return len(left) == len(right) and all(equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(equal(left[k], right[k]) for k in left)
    return bool(left == right)


def compare(op: str, left: Any, right: Any) -> bool:
    comparable = (is_number(left) and is_number(right)) or (isinstance(left, str) and isinstance(right, str))
    if not comparable:
        raise errors.type_error(f"cannot compare {type_name(left)} and {type_name(right)} with {op}")
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def contains(container: Any, item: Any) -> bool:
    if isinstance(container, dict):
        if not isinstance(item, str):
            raise errors.type_error(f"map keys are strings, got {type_name(item)}")
        return item in container
    if isinstance(container, list):
        return any(equal(item, element) for element in container)
    raise errors.type_error(f"'in' needs a list or a map, got {type_name(container)}")


def get_key(value: Any, key: Any) -> Any:
    """``value[key]`` / ``value.key`` with the service's KeyError / IndexError / TypeError."""
    if isinstance(value, dict):
        if not isinstance(key, str):
            raise errors.type_error(f"map key must be a string, got {type_name(key)}")
        if key not in value:
            raise errors.key_error(f"key not found: {key}")
        return value[key]
    if isinstance(value, list):
        if not isinstance(key, int) or isinstance(key, bool):
            raise errors.type_error(f"list index must be an integer, got {type_name(key)}")
        if not 0 <= key < len(value):
            raise errors.make("IndexError", f"list index out of range: {key}")
        return value[key]
    raise errors.type_error(f"cannot index {type_name(value)} with {key!r}")


def _dotted(node: Node) -> str | None:
    if node[0] == "name":
        return str(node[1])
    if node[0] == "attr":
        base = _dotted(node[1])
        return f"{base}.{node[2]}" if base is not None else None
    return None


def _bool(value: Any, op: str) -> bool:
    if not isinstance(value, bool):
        raise errors.type_error(f"'{op}' needs boolean operands, got {type_name(value)}")
    return value


class Evaluator:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver

    def eval_node(self, node: Node) -> Any:
        kind = node[0]
        if kind == "lit":
            return node[1]
        if kind == "name":
            return self._name(node[1])
        if kind == "attr":
            dotted = _dotted(node)
            if dotted is not None and not self.resolver.has_variable(dotted.split(".")[0]):
                if self.resolver.is_function(dotted):
                    return FunctionRef(dotted)
                if self.resolver.is_namespace(dotted):
                    return FunctionRef(dotted)
            base = self.eval_node(node[1])
            if isinstance(base, FunctionRef):
                raise errors.key_error(f"unknown function or module: {base.name}.{node[2]}")
            return get_key(base, node[2])
        if kind == "index":
            return get_key(self.eval_node(node[1]), self.eval_node(node[2]))
        if kind == "call":
            return self._call(node[1], [self.eval_node(a) for a in node[2]])
        if kind == "list":
            return [self.eval_node(item) for item in node[1]]
        if kind == "map":
            out: dict[str, Any] = {}
            for key_node, value_node in node[1]:
                key = self.eval_node(key_node)
                if not isinstance(key, str):
                    raise errors.type_error(f"map key must be a string, got {type_name(key)}")
                out[key] = self.eval_node(value_node)
            return out
        if kind == "unary":
            operand = self.eval_node(node[2])
            if node[1] == "not":
                return not _bool(operand, "not")
            if not is_number(operand):
                raise errors.type_error(f"unary minus needs a number, got {type_name(operand)}")
            return -operand
        return self._binary(node[1], node[2], node[3])

    def _name(self, name: str) -> Any:
        if self.resolver.has_variable(name):
            return self.resolver.get_variable(name)
        if self.resolver.is_function(name) or self.resolver.is_namespace(name):
            return FunctionRef(name)
        raise errors.key_error(f"variable not found: {name}")

    def _call(self, callee: Node, args: list[Any]) -> Any:
        dotted = _dotted(callee)
        if dotted is not None and self.resolver.is_function(dotted):
            head = dotted.split(".")[0]
            if "." not in dotted or not self.resolver.has_variable(head):
                return self.resolver.call_function(dotted, args)
        target = self.eval_node(callee)
        if isinstance(target, FunctionRef) and self.resolver.is_function(target.name):
            return self.resolver.call_function(target.name, args)
        raise errors.type_error(f"not a function: {dotted or type_name(target)}")

    def _binary(self, op: str, left_node: Node, right_node: Node) -> Any:
        left = self.eval_node(left_node)
        if op == "and":
            return _bool(left, op) and _bool(self.eval_node(right_node), op)
        if op == "or":
            return _bool(left, op) or _bool(self.eval_node(right_node), op)
        right = self.eval_node(right_node)
        if op == "==":
            return equal(left, right)
        if op == "!=":
            return not equal(left, right)
        if op in ("<", "<=", ">", ">="):
            return compare(op, left, right)
        if op == "in":
            return contains(right, left)
        return arithmetic(op, left, right)

    def evaluate(self, source: str) -> Any:
        node = parse_expression(source)
        try:
            return self.eval_node(node)
        except RecursionError:  # e.g. a long chain of ``+`` parses flat but evaluates deep
            raise errors.make("RecursionError", f"expression nested too deeply: {source[:80]!r}") from None

    def resolve(self, value: Any) -> Any:
        """Evaluate a YAML value: ``${...}`` strings are expressions; maps and lists recursively.
        A map key written as an expression (``${dynamicKey}: value``) is evaluated too and must
        give a string, as the maps reference says."""
        source = expression_source(value)
        if source is not None:
            return self.evaluate(source)
        if isinstance(value, dict):
            return {self._key(k): self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _key(self, key: Any) -> str:
        source = expression_source(key)
        if source is None:
            return str(key)
        evaluated = self.evaluate(source)
        if not isinstance(evaluated, str):
            raise errors.type_error(f"map key must be a string, got {type_name(evaluated)}: ${{{source}}}")
        return evaluated
