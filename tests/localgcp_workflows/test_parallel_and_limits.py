"""Parallel branches and iterations with shared variables; the service's execution limits."""

from __future__ import annotations

import threading
import time

import pytest

from localgcp.services.workflows import DefinitionError, Limits, WorkflowError, parse_workflow
from tests.localgcp_workflows.helpers import execute, make_execution


def test_parallel_branches_write_shared_variables_concurrently() -> None:
    started = time.monotonic()
    result = execute(
        """
        - init:
            assign:
              - results: {}
              - untouched: 1
        - fan_out:
            parallel:
              shared: [results]
              branches:
                - left:
                    steps:
                      - wait_l:
                          call: sys.sleep
                          args: {seconds: 0.3}
                      - put_l:
                          assign:
                            - results.left: ${untouched + 1}
                            - local_only: 5
                - right:
                    steps:
                      - wait_r:
                          call: sys.sleep
                          args: {seconds: 0.3}
                      - put_r:
                          assign:
                            - results.right: 3
        - done:
            return: ${[results, "local_only" in keys(results)]}
        """,
        time_scale=1.0,
    )
    assert result == [{"left": 2, "right": 3}, False]
    assert time.monotonic() - started < 0.55  # the two 0.3 s sleeps overlapped


def test_parallel_for_with_concurrency_limit_and_shared_total() -> None:
    source = """
    - init:
        assign:
          - total: 0
    - each:
        parallel:
          shared: [total]
          concurrency_limit: 2
          for:
            value: n
            in: [1, 2, 3, 4, 5]
            steps:
              - add:
                  assign:
                    - total: ${total + n}
    - done:
        return: ${total}
    """
    assert execute(source) == 15


def test_parallel_branch_may_not_write_unshared_outer_variable() -> None:
    # rejected at deploy time, as the service does (see test_validation for more cases)
    with pytest.raises(DefinitionError, match="'write'.*'x'.*shared"):
        execute(
            """
            - init:
                assign:
                  - x: 1
            - fan_out:
                parallel:
                  branches:
                    - b1:
                        steps:
                          - write:
                              assign:
                                - x: 2
            """
        )


def test_parallel_unhandled_errors_after_all_branches_ran() -> None:
    result = execute(
        """
        - init:
            assign:
              - done: []
        - guarded:
            try:
              steps:
                - fan_out:
                    parallel:
                      shared: [done]
                      exception_policy: continueAll
                      branches:
                        - bad:
                            steps:
                              - boom:
                                  raise: {message: bad branch, code: 1}
                        - good:
                            steps:
                              - mark:
                                  assign:
                                    - done: ${list.concat(done, "good")}
            except:
              as: e
              steps:
                - report:
                    return: ${[e.tags, e.branches[0].id, e.branches[0].error.message, done]}
        """
    )
    assert result == [["UnhandledBranchError"], "bad", "bad branch", ["good"]]


def test_max_steps_limit() -> None:
    source = """
    - loop:
        for:
          value: i
          range: [1, 1000]
          steps:
            - noop:
                assign:
                  - x: ${i}
    """
    assert execute(source, limits=Limits(max_steps=2000)) is None
    with pytest.raises(WorkflowError) as caught:
        execute(source, limits=Limits(max_steps=500))
    assert caught.value.tags == ["ResourceLimitError"]


def test_call_depth_limit() -> None:
    source = """
    main:
      steps:
        - go:
            return: ${down(0)}
    down:
      params: [n]
      steps:
        - recurse:
            return: ${down(n + 1)}
    """
    with pytest.raises(WorkflowError) as caught:
        execute(source, limits=Limits(max_call_depth=10))
    assert caught.value.tags == ["RecursionError"]


def test_variable_size_limit() -> None:
    source = """
    - init:
        assign:
          - s: "xxxxxxxxxx"
    - grow:
        for:
          value: i
          range: [1, 20]
          steps:
            - double:
                assign:
                  - s: ${s + s}
    """
    with pytest.raises(WorkflowError) as caught:
        execute(source, limits=Limits(max_variable_bytes=64 * 1024))
    assert caught.value.tags == ["ResourceLimitError"]


def test_sleep_honours_time_scale_and_cancel() -> None:
    execution = make_execution(
        """
        - wait:
            call: sys.sleep
            args: {seconds: 1000}
        """,
        time_scale=1.0,
    )
    threading.Timer(0.1, execution.cancel_event.set).start()
    started = time.monotonic()
    from localgcp.services.workflows.signals import Cancelled

    with pytest.raises(Cancelled):
        execution.run()
    assert time.monotonic() - started < 2
    quick = make_execution("- w:\n    call: sys.sleep\n    args: {seconds: 100}\n", time_scale=0.0001)
    started = time.monotonic()
    quick.run()
    assert time.monotonic() - started < 1


def test_sys_log_and_env() -> None:
    execution = make_execution(
        """
        - log:
            call: sys.log
            args:
              json: {stage: start, id: '${sys.get_env("GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID")}'}
              severity: WARNING
        - done:
            return: ${sys.get_env("MY_FLAG", "unset")}
        """,
        env={"GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID": "e-1", "MY_FLAG": "on"},
    )
    assert execution.run() == "on"
    assert execution.logs[0]["severity"] == "WARNING"
    assert execution.logs[0]["payload"] == {"stage": "start", "id": "e-1"}


@pytest.mark.parametrize(
    "source, why",
    [
        ("- a:\n    assign: []\n", "non-empty"),
        ("- a:\n    call: no.such.fn\n", "unknown function"),
        ("- a:\n    assign:\n      - x: 1\n    return: 2\n", "conflicting"),
        ("- a:\n    next: b\n- a:\n    next: end\n", "duplicate"),
        ("main:\n  params: [x]\n", "steps"),
        (
            "- a:\n    for:\n      value: v\n      steps:\n        - s:\n            next: end\n",
            "'in' or 'range'",
        ),
    ],
)
def test_invalid_definitions_are_rejected(source: str, why: str) -> None:
    with pytest.raises(DefinitionError, match=why):
        make_execution(source)


def test_parse_tolerates_json_definition() -> None:
    workflow = parse_workflow('{"main": {"params": ["a"], "steps": [{"r": {"return": "${a * 2}"}}]}}')
    assert workflow.main.params[0].name == "a"
