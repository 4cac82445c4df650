"""``googleapis.aiplatform.v1.projects.locations.pipelineJobs.*`` in a workflow run by the local
Workflows service, against the local Vertex AI's PipelineService (its REST JSON in and out)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.cloud.workflows.executions_v1 import Execution, ExecutionsClient
from google.cloud.workflows.executions_v1.services.executions.transports import ExecutionsGrpcTransport

from localgcp.events import CollectingSink, NullSink
from localgcp.services.aiplatform import AiPlatformService
from localgcp.services.base import ServiceContext
from localgcp.services.workflows import ConnectorRegistry, WorkflowError, googleapis
from localgcp.services.workflows.service import WorkflowsService
from tests.localgcp_aiplatform.tiny_pipelines import compile_to
from tests.localgcp_workflows.helpers import execute

pytestmark = pytest.mark.service
PROJECT, REGION = "proj-p", "europe-west1"
PIPELINE_JOBS = "googleapis.aiplatform.v1.projects.locations.pipelineJobs"

#: the daily workflow's create-and-poll, small: create, then get until the state is terminal
RUN_PIPELINE = f"""
main:
  params: [args]
  steps:
    - init:
        assign:
          - parent: ${{"projects/" + sys.get_env("GOOGLE_CLOUD_PROJECT_ID") + "/locations/" + sys.get_env("GOOGLE_CLOUD_LOCATION")}}
    - create:
        call: {PIPELINE_JOBS}.create
        args:
          parent: ${{parent}}
          pipelineJobId: ${{args.job_id}}
          region: ${{sys.get_env("GOOGLE_CLOUD_LOCATION")}}
          body:
            displayName: ${{"tiny-" + args.job_id}}
            templateUri: ${{sys.get_env("TEMPLATES") + "/tiny.yaml"}}
            runtimeConfig:
              gcsOutputDirectory: ${{sys.get_env("PIPELINE_ROOT")}}
              parameterValues:
                x: ${{args.x}}
                flag: true
        result: job
    - poll:
        call: {PIPELINE_JOBS}.get
        args:
          name: ${{job.name}}
        result: current
    - decide:
        switch:
          - condition: ${{current.state == "PIPELINE_STATE_SUCCEEDED" or current.state == "PIPELINE_STATE_FAILED"}}
            next: listed
    - wait:
        call: sys.sleep
        args:
          seconds: 0.2
        next: poll
    - listed:
        call: {PIPELINE_JOBS}.list
        args:
          parent: ${{parent}}
          filter: ${{"display_name=\\"tiny-" + args.job_id + "\\""}}
        result: found
    - done:
        return:
          created: ${{job.state}}
          state: ${{current.state}}
          error: ${{default(map.get(current, ["error", "message"]), "")}}
          output: ${{current.jobDetail.taskDetails[0].execution.metadata["output:Output"]}}
          listed: ${{len(found.pipelineJobs)}}
"""

#: a second create with the same id: the connector's HttpError, caught
DUPLICATE = f"""
main:
  params: [args]
  steps:
    - again:
        try:
          call: {PIPELINE_JOBS}.create
          args:
            parent: ${{"projects/{PROJECT}/locations/{REGION}"}}
            pipelineJobId: ${{args.job_id}}
            body:
              templateUri: ${{sys.get_env("TEMPLATES") + "/tiny.yaml"}}
        except:
          as: e
          steps:
            - answer:
                return: ${{e}}
"""

#: create a long job, cancel it, and wait for the cancellation to land
CANCEL = f"""
main:
  params: [args]
  steps:
    - create:
        call: {PIPELINE_JOBS}.create
        args:
          parent: ${{"projects/{PROJECT}/locations/{REGION}"}}
          pipelineJobId: ${{args.job_id}}
          body:
            templateUri: ${{sys.get_env("TEMPLATES") + "/sleeper.yaml"}}
            runtimeConfig:
              gcsOutputDirectory: ${{sys.get_env("PIPELINE_ROOT")}}
              parameterValues:
                pid_file: ${{args.pid_file}}
        result: job
    - cancel:
        call: {PIPELINE_JOBS}.cancel
        args:
          name: ${{job.name}}
        result: cancelled
    - poll:
        call: {PIPELINE_JOBS}.get
        args:
          name: ${{job.name}}
        result: current
    - decide:
        switch:
          - condition: ${{current.state == "PIPELINE_STATE_CANCELLING"}}
            next: poll
    - done:
        return:
          answer: ${{cancelled}}
          state: ${{current.state}}
"""


@pytest.fixture
def services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ExecutionsClient]:
    templates = compile_to(tmp_path / "templates")
    vertex = AiPlatformService(
        ServiceContext("127.0.0.1", 0, tmp_path / "aiplatform", PROJECT, CollectingSink())
    )
    vertex.start()
    monkeypatch.setenv("AIPLATFORM_EMULATOR_HOST", vertex.address)
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "run_pipeline.yaml").write_text(RUN_PIPELINE)
    (folder / "duplicate.yaml").write_text(DUPLICATE)
    (folder / "cancel.yaml").write_text(CANCEL)
    env = {"TEMPLATES": str(templates["tiny"].parent), "PIPELINE_ROOT": str(tmp_path / "root")}
    ctx = ServiceContext("127.0.0.1", 0, tmp_path / "wf", PROJECT, NullSink(), REGION)
    workflows = WorkflowsService(ctx, folder, googleapis.register(ConnectorRegistry()), env, time_scale=1.0)
    workflows.start()
    channel = grpc.insecure_channel(workflows.address)
    try:
        yield ExecutionsClient(transport=ExecutionsGrpcTransport(channel=channel))
    finally:
        channel.close()
        workflows.stop()
        vertex.stop()


def run(client: ExecutionsClient, workflow: str, argument: dict[str, Any], timeout_s: float = 60) -> Any:
    parent = f"projects/{PROJECT}/locations/{REGION}/workflows/{workflow}"
    started = client.create_execution(parent=parent, execution=Execution(argument=json.dumps(argument)))
    deadline = time.monotonic() + timeout_s
    while (execution := client.get_execution(name=started.name)).state.name == "ACTIVE":
        assert time.monotonic() < deadline, f"{workflow} still running after {timeout_s}s"
        time.sleep(0.2)
    assert execution.state.name == "SUCCEEDED", execution.error
    return json.loads(execution.result)


def test_workflow_creates_and_polls_a_pipeline_job(services: ExecutionsClient, tmp_path: Path) -> None:
    result = run(services, "run_pipeline", {"job_id": "wf-tiny", "x": 3})
    # the workflow's JSON number 3 reached the int parameter as an int: 3 + 2
    assert result == {
        "created": "PIPELINE_STATE_QUEUED",
        "state": "PIPELINE_STATE_SUCCEEDED",
        "error": "",
        "output": "n=5 flag=True",
        "listed": 1,
    }
    assert list((tmp_path / "root" / "wf-tiny").glob("tiny-*/describe/executor_output.json"))
    duplicate = run(services, "duplicate", {"job_id": "wf-tiny"})
    assert duplicate["tags"] == ["HttpError"] and duplicate["code"] == 409
    assert duplicate["body"]["error"]["status"] == "ALREADY_EXISTS"
    assert "already exists" in duplicate["message"]
    cancelled = run(services, "cancel", {"job_id": "wf-sleeper", "pid_file": str(tmp_path / "pid")})
    assert cancelled == {"answer": {}, "state": "PIPELINE_STATE_CANCELLED"}


def test_without_the_emulator_address_the_call_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIPLATFORM_EMULATOR_HOST", raising=False)
    with pytest.raises(WorkflowError) as caught:
        execute(
            f"""
            - get:
                call: {PIPELINE_JOBS}.get
                args: {{name: projects/p/locations/l/pipelineJobs/x}}
            """,
            connectors=googleapis.register(ConnectorRegistry()),
        )
    assert caught.value.tags == ["ConnectionFailedError"]
    assert "AIPLATFORM_EMULATOR_HOST is not set" in caught.value.payload["message"]
