"""Gap 7 of issue 16: ``events.create_callback_endpoint`` / ``events.await_callback`` (an HTTP
endpoint on 127.0.0.1) and ``experimental.executions.run`` / ``map`` (executions of other deployed
workflows), on their own and through the local Workflows service."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.workflows import WorkflowError
from localgcp.services.workflows.service import WorkflowsService
from tests.localgcp_workflows.helpers import execute, make_execution

CALLBACK_PROGRAM = """
- create_callback:
    call: events.create_callback_endpoint
    args:
      http_callback_method: "POST"
    result: callback_details
- announce:
    call: sys.log
    args:
      text: ${callback_details.url}
- await_callback:
    call: events.await_callback
    args:
      callback: ${callback_details}
      timeout: TIMEOUT
    result: callback_request
- done:
    return: ${callback_request}
"""


def _url_when_logged(execution: Any, timeout: float = 5) -> str:
    deadline = time.monotonic() + timeout
    while not execution.logs:
        assert time.monotonic() < deadline, "the workflow never created its endpoint"
        time.sleep(0.01)
    return str(execution.logs[0]["payload"])


def test_callback_resumes_the_execution() -> None:
    from localgcp.services.workflows.callbacks import CallbackHub

    hub = CallbackHub()
    execution = make_execution(CALLBACK_PROGRAM.replace("TIMEOUT", "30"), time_scale=1.0, callbacks=hub)
    result: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: result.update(value=execution.run()))
    runner.start()
    try:
        url = _url_when_logged(execution)
        assert url.startswith("http://127.0.0.1:") and "/callbacks/" in url
        assert requests.get(url, timeout=5).status_code == 405  # the endpoint expects POST
        answer = requests.post(url, params={"approved": "yes"}, json={"order": 7}, timeout=5)
        assert answer.status_code == 200
        runner.join(10)
        request = result["value"]
        assert request["type"] == "HTTP"
        assert request["http_request"]["method"] == "POST"
        assert request["http_request"]["body"] == {"order": 7}
        assert request["http_request"]["query"] == {"approved": ["yes"]}
        assert request["received_time"]
        # the execution is over: its endpoint is closed
        assert requests.post(url, json={}, timeout=5).status_code == 404
    finally:
        runner.join(10)
        hub.stop()


def test_await_callback_times_out() -> None:
    started = time.monotonic()
    with pytest.raises(WorkflowError) as caught:
        execute(CALLBACK_PROGRAM.replace("TIMEOUT", "0.3"), time_scale=1.0)
    assert caught.value.tags == ["TimeoutError"]
    assert time.monotonic() - started < 5


def test_a_callback_received_before_the_wait_is_kept() -> None:
    program = """
    - create:
        call: events.create_callback_endpoint
        args: {http_callback_method: PUT}
        result: cb
    - send:
        call: http.put
        args:
          url: ${cb.url}
          body: {early: true}
    - wait:
        call: events.await_callback
        args: {callback: '${cb}', timeout: 1}
        result: got
    - done:
        return: ${got.http_request.body}
    """
    assert execute(program, time_scale=1.0) == {"early": True}


def test_callback_argument_errors() -> None:
    cases = [
        (
            "- c:\n    call: events.create_callback_endpoint\n    args: {http_callback_method: FETCH}\n",
            "ValueError",
        ),
        (
            "- c:\n    call: events.create_callback_endpoint\n    args: {http_callback_method: 1}\n",
            "TypeError",
        ),
        ("- c:\n    call: events.await_callback\n    args: {callback: nope}\n", "TypeError"),
        (
            "- c:\n    call: events.await_callback\n    args: {callback: {url: 'http://127.0.0.1:1/x'}}\n",
            "ValueError",
        ),
    ]
    for program, tag in cases:
        with pytest.raises(WorkflowError) as caught:
            execute(program)
        assert caught.value.tags == [tag], program


def test_child_executions_need_the_service() -> None:
    with pytest.raises(WorkflowError) as caught:
        execute("- c:\n    call: experimental.executions.run\n    args: {workflow_id: other}\n")
    assert caught.value.tags == ["UnimplementedError"]


# --- through the service ------------------------------------------------------------------------
WORKFLOWS = {
    "square": """
main:
  params: [n]
  steps:
    - check:
        switch:
          - condition: ${n < 0}
            raise: negative
    - nap:
        call: sys.sleep
        args: {seconds: 0.1}
    - r:
        return: ${n * n}
""",
    "fan_out": """
main:
  params: [args]
  steps:
    - one:
        call: experimental.executions.run
        args:
          workflow_id: square
          argument: 12
        result: single
    - many:
        call: experimental.executions.map
        args:
          workflow_id: square
          arguments: ${args.numbers}
        result: squares
    - env:
        return:
          single: ${single}
          squares: ${squares}
          project_number: ${sys.get_env("GOOGLE_CLOUD_PROJECT_NUMBER")}
""",
    "child_fails": """
- run:
    try:
      call: experimental.executions.map
      args:
        workflow_id: square
        arguments: [1, -1]
      result: never
    except:
      as: e
      steps:
        - report:
            return: ${[e.tags, e.error]}
""",
    "child_times_out": """
- run:
    call: experimental.executions.run
    args:
      workflow_id: square
      argument: 3
      timeout: 0.01
""",
    "callback": CALLBACK_PROGRAM.replace("TIMEOUT", "30"),
}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[WorkflowsService]:
    wf_dir = tmp_path / "workflows"
    wf_dir.mkdir()
    for name, source in WORKFLOWS.items():
        (wf_dir / f"{name}.yaml").write_text(source)
    ctx = ServiceContext("127.0.0.1", 0, tmp_path / "data", "proj-c", NullSink())
    running = WorkflowsService(ctx, wf_dir, location="europe-west1", time_scale=1.0, max_workers=1)
    running.start()
    yield running
    running.stop()


def _finish(service: WorkflowsService, workflow: str, argument: Any = None) -> dict[str, Any]:
    name = service.create_execution(workflow, json.dumps(argument) if argument is not None else None)
    assert service.wait_idle(30)
    assert service.store is not None
    record = service.store.get(name)
    assert record is not None
    return record


def test_run_and_map_start_other_workflows(service: WorkflowsService) -> None:
    # one pool worker: the children must not wait for the worker their parent holds
    record = _finish(service, "fan_out", {"numbers": [1, 2, 3, 4]})
    assert record["state"] == "SUCCEEDED", record["error"]
    result = json.loads(record["result"])
    assert result["single"] == 144
    assert result["squares"] == [1, 4, 9, 16]
    assert result["project_number"].isdigit()
    assert service.store is not None
    children = service.store.list("square", None, 100, 0)
    assert len(children) == 5 and {c["state"] for c in children} == {"SUCCEEDED"}


def test_a_failing_child_is_an_execution_error(service: WorkflowsService) -> None:
    record = _finish(service, "child_fails")
    assert record["state"] == "SUCCEEDED", record["error"]
    tags, child_error = json.loads(record["result"])
    assert tags == ["ExecutionError"]
    assert child_error == "negative"


def test_a_slow_child_times_out(service: WorkflowsService) -> None:
    record = _finish(service, "child_times_out")
    assert record["state"] == "FAILED"
    assert json.loads(record["error"]["payload"])["tags"] == ["TimeoutError"]


def test_callbacks_through_the_service(service: WorkflowsService) -> None:
    name = service.create_execution("callback", None)
    deadline = time.monotonic() + 5
    url = ""
    while not url:
        assert time.monotonic() < deadline
        with service._lock:
            running = service._running.get(name)
        if running is not None and running.logs:
            url = str(running.logs[0]["payload"])
        time.sleep(0.01)
    assert url.startswith(service.callbacks.base_url + "/v1/" + name + "/callbacks/")
    assert (
        requests.post(url, data="plain text", headers={"Content-Type": "text/plain"}, timeout=5).status_code
        == 200
    )
    assert service.wait_idle(10)
    assert service.store is not None
    record = service.store.get(name)
    assert record is not None and record["state"] == "SUCCEEDED"
    assert json.loads(record["result"])["http_request"]["body"] == "plain text"
