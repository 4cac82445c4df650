"""Gap 6 of issue 16: map keys written as expressions are evaluated (the maps reference:
``myMap: {"${dynamicKey}": "myValue"}``), not kept as the literal text ``${dynamicKey}``."""

from __future__ import annotations

import pytest

from localgcp.services.workflows import WorkflowError
from tests.localgcp_workflows.helpers import execute


def test_dynamic_keys_in_assigned_maps() -> None:
    result = execute(
        """
        - createMap:
            assign:
              - dynamicKey: "myKey"
              - myMap: {"${dynamicKey}": "myValue"}
              - myMap2: {'${dynamicKey + "Apple"}': "myValue"}
              - block:
                  ${dynamicKey}:
                    ${"nested_" + dynamicKey}: 1
                  plain: 2
        - done:
            return: ${[myMap, myMap2, block]}
        """
    )
    assert result == [
        {"myKey": "myValue"},
        {"myKeyApple": "myValue"},
        {"myKey": {"nested_myKey": 1}, "plain": 2},
    ]


def test_dynamic_keys_in_return_and_call_args() -> None:
    result = execute(
        """
        main:
          steps:
            - init:
                assign:
                  - field: total
            - call_it:
                call: echo
                args:
                  value:
                    ${field}: 42
                result: echoed
            - done:
                return:
                  ${"from_" + field}: ${echoed}
        echo:
          params: [value]
          steps:
            - back:
                return: ${value}
        """
    )
    assert result == {"from_total": {"total": 42}}


def test_a_dynamic_key_must_be_a_string() -> None:
    with pytest.raises(WorkflowError) as caught:
        execute(
            """
            - bad:
                assign:
                  - m:
                      ${1 + 1}: two
            """
        )
    assert caught.value.tags == ["TypeError"]
    assert "map key must be a string" in caught.value.payload["message"]
