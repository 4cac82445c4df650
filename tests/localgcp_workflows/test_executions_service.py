"""The Executions API through Google's own ExecutionsClient against the local service."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.api_core import exceptions
from google.cloud.workflows.executions_v1 import Execution, ExecutionsClient
from google.cloud.workflows.executions_v1.types import ExecutionView

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.workflows import ConnectorRegistry
from localgcp.services.workflows.service import WorkflowsService
from rillflow.workflows_client import executions_client

PARENT = "projects/proj-t/locations/europe-west1/workflows"

WORKFLOWS = {
    "sum": """
main:
  params: [args]
  steps:
    - log:
        call: sys.log
        args: {text: summing}
    - add:
        return:
          total: ${args.a + args.b}
          workflow: ${sys.get_env("GOOGLE_CLOUD_WORKFLOW_ID")}
          region: ${sys.get_env("GOOGLE_CLOUD_LOCATION")}
          team: ${sys.get_env("TEAM")}
          connector: ${googleapis_echo(args.a)}
googleapis_echo:
  params: [x]
  steps:
    - c:
        call: googleapis.example.v1.echo
        args: {value: '${x}'}
        result: r
    - r:
        return: ${r.value}
""",
    "fails": """
main:
  steps:
    - boom:
        assign:
          - x: ${{}["nope"]}
""",
    "slow": """
- wait:
    call: sys.sleep
    args: {seconds: 30}
""",
}


def _service(tmp_path: Path) -> WorkflowsService:
    wf_dir = tmp_path / "workflows"
    wf_dir.mkdir(exist_ok=True)
    for name, source in WORKFLOWS.items():
        (wf_dir / f"{name}.yaml").write_text(source)
    connectors = ConnectorRegistry()
    connectors.register("googleapis.example.v1.echo", lambda args: {"value": args["value"]})
    ctx = ServiceContext("127.0.0.1", 0, tmp_path / "data", "proj-t", NullSink())
    return WorkflowsService(
        ctx, wf_dir, connectors, {"TEAM": "data"}, location="europe-west1", time_scale=1.0
    )


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[WorkflowsService, ExecutionsClient]]:
    service = _service(tmp_path)
    service.start()
    yield service, executions_client(service.address)
    service.stop()


def _wait(client: ExecutionsClient, name: str, timeout: float = 10) -> Execution:
    deadline = time.monotonic() + timeout
    while True:
        execution = client.get_execution(name=name)
        if execution.state != Execution.State.ACTIVE or time.monotonic() > deadline:
            return execution
        time.sleep(0.05)


def test_create_and_poll_until_succeeded(running: tuple[WorkflowsService, ExecutionsClient]) -> None:
    service, client = running
    created = client.create_execution(
        parent=f"{PARENT}/sum", execution=Execution(argument=json.dumps({"a": 2, "b": 40}))
    )
    assert created.name.startswith(f"{PARENT}/sum/executions/")
    done = _wait(client, created.name)
    assert done.state == Execution.State.SUCCEEDED
    assert json.loads(done.result) == {
        "total": 42,
        "workflow": "sum",
        "region": "europe-west1",
        "team": "data",
        "connector": 2,
    }
    assert done.end_time >= done.start_time
    assert service.execution_log(created.name)[0]["payload"] == "summing"


def test_failing_workflow_reports_error(running: tuple[WorkflowsService, ExecutionsClient]) -> None:
    _, client = running
    created = client.create_execution(parent=f"{PARENT}/fails", execution=Execution())
    done = _wait(client, created.name)
    assert done.state == Execution.State.FAILED
    payload = json.loads(done.error.payload)
    assert payload["tags"] == ["KeyError"]
    assert "nope" in payload["message"]
    assert 'step "boom"' in done.error.context
    assert done.error.stack_trace.elements[0].step == "boom"


def test_list_cancel_and_errors(running: tuple[WorkflowsService, ExecutionsClient]) -> None:
    _, client = running
    first = client.create_execution(parent=f"{PARENT}/sum", execution=Execution(argument='{"a": 1, "b": 1}'))
    _wait(client, first.name)
    slow = client.create_execution(parent=f"{PARENT}/slow", execution=Execution())
    listed = list(client.list_executions(parent=f"{PARENT}/-"))
    assert [e.name for e in listed] == [slow.name, first.name]
    assert listed[1].result == ""  # BASIC view
    full = list(client.list_executions(request={"parent": f"{PARENT}/sum", "view": ExecutionView.FULL}))
    assert json.loads(full[0].result)["total"] == 2
    cancelled = client.cancel_execution(name=slow.name)
    assert cancelled.state == Execution.State.CANCELLED
    only = list(client.list_executions(request={"parent": f"{PARENT}/-", "filter": 'state="CANCELLED"'}))
    assert [e.name for e in only] == [slow.name]
    with pytest.raises(exceptions.NotFound):
        client.create_execution(parent=f"{PARENT}/absent", execution=Execution())
    with pytest.raises(exceptions.NotFound):
        client.get_execution(name=f"{PARENT}/sum/executions/unknown")
    with pytest.raises(exceptions.InvalidArgument):
        client.create_execution(parent=f"{PARENT}/sum", execution=Execution(argument="{not json"))
    with pytest.raises(exceptions.FailedPrecondition):
        client.cancel_execution(name=first.name)


def test_history_survives_restart(tmp_path: Path) -> None:
    service = _service(tmp_path)
    service.start()
    client = executions_client(service.address)
    name = client.create_execution(
        parent=f"{PARENT}/sum", execution=Execution(argument='{"a": 5, "b": 5}')
    ).name
    assert _wait(client, name).state == Execution.State.SUCCEEDED
    service.stop()

    again = _service(tmp_path)
    again.start()
    try:
        client = executions_client(again.address)
        execution = client.get_execution(name=name)
        assert execution.state == Execution.State.SUCCEEDED
        assert json.loads(execution.result)["total"] == 10
        assert [e.name for e in client.list_executions(parent=f"{PARENT}/sum")] == [name]
    finally:
        again.stop()


def test_service_binds_loopback_only(running: tuple[WorkflowsService, ExecutionsClient]) -> None:
    service, _ = running
    assert service.address.startswith("127.0.0.1:")
    channel = grpc.insecure_channel(service.address)
    grpc.channel_ready_future(channel).result(timeout=5)
    channel.close()
