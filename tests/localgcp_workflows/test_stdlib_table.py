"""The standard-library rows of ``localgcp/services/workflows/README.md`` that no other test covers, and a
check that the README's table names every function the library registers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from localgcp.services.workflows import stdlib
from tests.localgcp_workflows.helpers import execute

README = Path(stdlib.__file__).parent.parent / "README.md"


def value(expression: str) -> Any:
    return execute(f"- out:\n    return: '${{{expression}}}'\n")


@pytest.mark.parametrize(
    "expression, expected",
    [
        ('map.get({"a": {"b": 1}}, ["a", "b"])', 1),
        ('map.get({"a": 1}, "zz")', None),
        ('map.merge_nested({"a": {"x": 1}}, {"a": {"y": 2}})', {"a": {"x": 1, "y": 2}}),
        ("[math.abs(-2), math.floor(2.7), math.max(1, 3), math.min(1, 3)]", [2, 2, 3, 1]),
        ("len(uuid.generate())", 36),
        ('type(sys.now()) == "double"', True),
        ('text.find_all_regex("a1b22", "[0-9]+")', [{"index": 1, "match": "1"}, {"index": 3, "match": "22"}]),
        ('text.replace_all_regex("a1b22", "([0-9]+)", "<\\\\1>")', "a<1>b<22>"),
        ('text.to_lower("AbC")', "abc"),
        ('text.decode(json.encode({"a": [1]}))', '{"a":[1]}'),
        ('base64.encode(text.encode("a"), false)', "YQ"),
        ('text.decode(base64.decode("YQ", false))', "a"),
        (
            '[get_type(1), bool("true"), keys({"k": 1}), len([1, 2]), default(1, 2)]',
            ["integer", True, ["k"], 2, 1],
        ),
    ],
)
def test_library_rows(expression: str, expected: Any) -> None:
    assert value(expression) == expected


def test_retry_module_predicates_and_backoff() -> None:
    source = """
    - init:
        assign:
          - n: 0
    - always:
        try:
          steps:
            - bump:
                assign:
                  - n: ${n + 1}
            - fail:
                switch:
                  - condition: ${n < 3}
                    raise: again
        retry:
          predicate: ${retry.always}
          max_retries: 5
          backoff: ${retry.default_backoff}
    - never:
        try:
          steps:
            - fail2:
                raise: once
          retry:
            predicate: ${retry.never}
            max_retries: 5
        except:
          as: e
          steps:
            - done:
                return: ${[n, e]}
    """
    assert execute(source) == [3, "once"]


def test_readme_table_names_every_registered_function() -> None:
    text = README.read_text()
    listed = set(re.findall(r"^\| `([a-z_][a-z_0-9.]*)(?:\(\))?` \|", text, flags=re.M))
    missing = sorted(name for name in stdlib.FUNCTIONS if name not in listed)
    assert missing == [], f"rows missing from {README.name}: {missing}"
