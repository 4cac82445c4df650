"""The Workflows ``${...}`` expression lexer, parser and evaluator (``localgcp.services.workflows``).

Properties: any text either parses or raises a ``WorkflowError`` tagged ``ParseError``; literals
round-trip (render a value as source, parse and evaluate it, get the value back, string escapes
and characters beyond the BMP included); evaluating any parsed expression gives a value or a
``WorkflowError`` (the only errors a workflow's ``try/except`` can catch), never a Python error.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from localgcp.services.workflows.errors import WorkflowError
from localgcp.services.workflows.lang.expr_parser import parse_expression, tokenize
from localgcp.services.workflows.lang.expressions import Evaluator
from tests.fuzz.strategies import fuzz


class NoNames:
    """A resolver with one variable ``x`` and no functions."""

    def has_variable(self, name: str) -> bool:
        return name == "x"

    def get_variable(self, name: str) -> Any:
        return {"a": [1, 2.5, "s"], "b": None}

    def is_function(self, name: str) -> bool:
        return False

    def is_namespace(self, name: str) -> bool:
        return False

    def call_function(self, name: str, args: list[Any]) -> Any:
        raise AssertionError("no functions here")


EVALUATOR = Evaluator(NoNames())
TOKENS = ["1", "2.5", "1e3", '"s"', "'t'", "x", "a", "true", "null", "+", "-", "*", "/", "//", "%", "==",
          "<", ">=", "and", "or", "not", "in", "(", ")", "[", "]", "{", "}", ",", ":", ".", " "]  # fmt: skip

token_soup = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join)
any_text = st.text(max_size=60) | token_soup


def _parse_error(exc: WorkflowError) -> None:
    assert exc.tags == ["ParseError"] and "invalid expression" in str(exc)


@fuzz(400)
@given(any_text)
def test_any_text_parses_or_raises_parse_error(source: str) -> None:
    try:
        parse_expression(source)
    except WorkflowError as exc:
        _parse_error(exc)


@fuzz(300)
@given(token_soup | st.text(alphabet="0123456789.eE+-*/()[]{}\"'\\u,:notandx ", max_size=40))
def test_evaluation_gives_a_value_or_a_workflow_error(source: str) -> None:
    try:
        EVALUATOR.evaluate(source)
    except WorkflowError as exc:
        assert exc.tags and str(exc)


def test_hostile_sources() -> None:
    cases = ['"\\uzzzz"', "1" * 5000, "(" * 3000 + "1" + ")" * 3000, "1" + " + 1" * 5000,
             "1e999 % 2", "1e999 // 1", "1" + "0" * 400 + " / 1", "(1e999 - 1e999) // 1"]  # fmt: skip
    for source in cases:
        try:
            EVALUATOR.evaluate(source)
        except WorkflowError as exc:
            assert exc.tags and str(exc)


def render(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if value >= 0 else f"(-{render(-value)})"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=bool(len(value) % 2))  # both \\u escapes and raw text
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    return "{" + ", ".join(f"{render(k)}: {render(v)}" for k, v in value.items()) + "}"


literals = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return type(a) is type(b) and (a == b or (math.isnan(a) and math.isnan(b)))
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@fuzz(300)
@given(literals)
def test_literals_round_trip(value: Any) -> None:
    assert _same(EVALUATOR.evaluate(render(value)), value)


@fuzz(200)
@given(st.text(max_size=20))
def test_string_tokens_round_trip(text: str) -> None:
    for ensure_ascii in (True, False):
        assert tokenize(json.dumps(text, ensure_ascii=ensure_ascii)) == [("lit", text), ("end", None)]


@fuzz(200)
@given(
    st.lists(
        st.floats(allow_nan=False) | st.integers(min_value=-(10**30), max_value=10**30),
        min_size=2,
        max_size=4,
    ),
    st.lists(st.sampled_from(["+", "-", "*", "/", "//", "%", "<", "==", "!="]), min_size=3, max_size=3),
)
def test_arithmetic_on_any_numbers(numbers: list[Any], ops: list[str]) -> None:
    source = render(numbers[0])
    for op, n in zip(ops, numbers[1:], strict=False):
        source += f" {op} " + (render(n) if math.isfinite(n) else ("1e999" if n > 0 else "(-1e999)"))
    try:
        result = EVALUATOR.evaluate(source)
    except WorkflowError as exc:
        assert exc.tags and str(exc)
        return
    assert isinstance(result, int | float | bool)
