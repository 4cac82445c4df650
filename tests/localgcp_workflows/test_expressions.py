"""The ``${...}`` language: precedence, number semantics, errors."""

from __future__ import annotations

from typing import Any

import pytest

from localgcp.services.workflows import DefinitionError, WorkflowError
from tests.localgcp_workflows.helpers import execute


def evaluate(expression: str, **variables: Any) -> Any:
    assigns = "".join(f"      - {k}: {v!r}\n" for k, v in variables.items())
    init = f"- init:\n    assign:\n{assigns}" if variables else ""
    return execute(f"{init}- out:\n    return: '${{{expression}}}'\n")


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("7 / 2", 3.5),
        ("6 / 3", 2.0),
        ("7 // 2", 3),
        ("7.5 // 2", 3.0),
        ("7 % 3", 1),
        ("1 + 0.5", 1.5),
        ("-2 * 3", -6),
        ('"a" + "b" + "c"', "abc"),
        ("1 == 1.0", True),
        ('[1, {"a": 2}] == [1, {"a": 2}]', True),
        ('"abc" < "abd"', True),
        ("not true or true", True),
        ("true and false or true", True),
        ('"k" in {"k": 1}', True),
        ("3 in [1, 2]", False),
        ('{"a": [10, 20]}["a"][1]', 20),
        ('len("héllo")', 5),
        ('default(null, "d")', "d"),
        ("TRUE AND NOT FALSE", True),
        ('"esc\\"aped\\n"', 'esc"aped\n'),
        ('time.format(0, "Europe/Paris")', "1970-01-01T01:00:00.000000+01:00"),
        ('keys({"b": 1, "a": 2})', ["b", "a"]),
    ],
)
def test_expression_values(expression: str, expected: Any) -> None:
    result = evaluate(expression)
    assert result == expected
    assert type(result) is type(expected)


def test_variables_and_member_access() -> None:
    assert evaluate("m.inner.v + l[1]", m={"inner": {"v": 1}}, l=[0, 41]) == 42


@pytest.mark.parametrize(
    "expression, tag",
    [
        ("unknown_var + 1", "KeyError"),
        ("1 and true", "TypeError"),
        ('"a" < 1', "TypeError"),
        ("9223372036854775807 + 1", "ValueError"),
        ("len(1)", "TypeError"),
        ("text.split(1, 2)", "TypeError"),
        ('json.decode("{bad")', "ValueError"),
        ("map.merge(1)", "TypeError"),
    ],
)
def test_expression_errors(expression: str, tag: str) -> None:
    with pytest.raises(WorkflowError) as caught:
        evaluate(expression)
    assert caught.value.tags == [tag]


def test_next_jumps_to_outer_step_and_unknown_target_fails() -> None:
    jump = """
    - block:
        steps:
          - inner:
              next: outer
          - skipped:
              return: wrong
    - never:
        return: wrong too
    - outer:
        return: jumped
    """
    assert execute(jump) == "jumped"
    # a missing target is a deploy-time error (validate), naming the step
    with pytest.raises(DefinitionError, match="'a'.*nowhere"):
        execute("- a:\n    next: nowhere\n")


def test_expression_syntax_errors_are_rejected_at_deploy() -> None:
    with pytest.raises(DefinitionError, match="'out'.*ParseError"):
        evaluate("1 +")
