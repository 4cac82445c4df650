"""PipelineService: compiled KFP pipelines submitted through the official SDK (and GAPIC client),
run by the local Vertex AI with kfp.local in child processes."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import aiplatform, aiplatform_v1
from google.cloud.aiplatform import pipeline_jobs
from google.cloud.aiplatform_v1.services.pipeline_service.transports import PipelineServiceGrpcTransport

from localgcp.services.aiplatform.pipeline_runner import plain
from tests.localgcp_aiplatform.tiny_pipelines import compile_to
from tests.support.vertex import PARENT, PROJECT, Vertex

pytestmark = pytest.mark.service
State = aiplatform_v1.PipelineState


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return compile_to(tmp_path_factory.mktemp("templates"))


@pytest.fixture(autouse=True)
def _fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline_jobs, "_JOB_WAIT_TIME", 0.1)  # PipelineJob.wait(): 5 s otherwise


@pytest.fixture
def client(vertex: Vertex) -> Iterator[aiplatform_v1.PipelineServiceClient]:
    channel = grpc.insecure_channel(vertex.service.address)
    yield aiplatform_v1.PipelineServiceClient(transport=PipelineServiceGrpcTransport(channel=channel))
    channel.close()


def submit(template: Path, job_id: str, root: Path, **parameters: Any) -> aiplatform.PipelineJob:
    job = aiplatform.PipelineJob(
        display_name=job_id,
        template_path=str(template),
        job_id=job_id,
        pipeline_root=str(root),
        parameter_values=parameters,
    )
    job.submit()
    return job


def wait_until(check: Callable[[], bool], timeout_s: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f}s: {what}")
        time.sleep(0.1)


def state_of(client: aiplatform_v1.PipelineServiceClient, name: str) -> State:
    return client.get_pipeline_job(name=name).state


def gone(pid: int) -> bool:
    """No such process, or only its zombie (an orphan that PID 1 has not reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def metadata(job: Any, task: str) -> dict[str, Any]:
    details = {d.task_name: d for d in job.job_detail.task_details}
    return dict(details[task].execution.metadata)


def test_sdk_runs_a_compiled_pipeline(vertex: Vertex, templates: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    job = submit(templates["tiny"], "tiny-ok", tmp_path / "root", x=4, flag=True, out_file=str(out))
    assert job.state in (State.PIPELINE_STATE_QUEUED, State.PIPELINE_STATE_RUNNING)
    job.wait()
    assert job.state == State.PIPELINE_STATE_SUCCEEDED
    # 4 + 2 through both tasks: the int parameter arrived as an int (a double would not type-check)
    assert out.read_text() == "n=6 flag=True"
    resource = job.gca_resource
    assert resource.name == f"{PARENT}/pipelineJobs/tiny-ok" and resource.display_name == "tiny-ok"
    assert resource.create_time <= resource.start_time <= resource.end_time <= resource.update_time
    assert resource.runtime_config.gcs_output_directory == str(tmp_path / "root")
    assert metadata(resource, "tiny")["output:Output"] == "n=6 flag=True"
    assert metadata(resource, "tiny")["input:x"] == 4
    assert metadata(resource, "add") == {"output:Output": 6}
    assert {d.task_name: d.state.name for d in resource.job_detail.task_details} == {
        "tiny": "SUCCEEDED",
        "add": "SUCCEEDED",
        "describe": "SUCCEEDED",
    }
    # kfp.local wrote the run under <pipeline root>/<job id>/
    assert list((tmp_path / "root" / "tiny-ok").glob("tiny-*/add/executor_output.json"))
    log = vertex.home / "aiplatform" / "pipelines" / "tiny-ok" / "output.log"
    assert "Task 'describe' finished with status SUCCESS" in plain(log.read_text())


def test_failing_component_fails_the_job_naming_the_task(
    vertex: Vertex, templates: dict[str, Path], tmp_path: Path
) -> None:
    job = submit(templates["tiny"], "tiny-bad", tmp_path / "root", x=-5)
    with pytest.raises(RuntimeError, match="Job failed"):
        job.wait()
    assert job.state == State.PIPELINE_STATE_FAILED
    message = job.gca_resource.error.message
    assert "The failed tasks are: [describe]" in message
    assert "ValueError: negative sum" in message  # the tail of the log
    states = {d.task_name: d.state.name for d in job.gca_resource.job_detail.task_details}
    assert states == {"tiny": "FAILED", "add": "SUCCEEDED", "describe": "FAILED"}


def test_cancel_running_and_queued_jobs(
    vertex: Vertex,
    templates: dict[str, Path],
    tmp_path: Path,
    client: aiplatform_v1.PipelineServiceClient,
) -> None:
    pid_file = tmp_path / "pid"
    running = submit(templates["sleeper"], "sleepy", tmp_path / "root", pid_file=str(pid_file))
    queued = submit(templates["tiny"], "waits", tmp_path / "root")
    wait_until(lambda: pid_file.exists() and pid_file.read_text() != "", what="the sleeping task started")
    pid = int(pid_file.read_text())
    # one pipeline at a time (max_running=1): the second waits
    assert state_of(client, running.resource_name) == State.PIPELINE_STATE_RUNNING
    assert state_of(client, queued.resource_name) == State.PIPELINE_STATE_QUEUED

    queued.cancel()
    assert state_of(client, queued.resource_name) == State.PIPELINE_STATE_CANCELLED
    running.cancel()
    wait_until(
        lambda: state_of(client, running.resource_name) == State.PIPELINE_STATE_CANCELLED,
        what="the running job cancelled",
    )
    wait_until(lambda: gone(pid), timeout_s=10, what=f"the task process {pid} ended")
    job = client.get_pipeline_job(name=running.resource_name)
    assert job.error.code == 1 and job.end_time
    with pytest.raises(exceptions.FailedPrecondition, match="already PIPELINE_STATE_CANCELLED"):
        running.cancel()


def test_list_filter_page_delete_and_duplicate_id(
    vertex: Vertex,
    templates: dict[str, Path],
    tmp_path: Path,
    client: aiplatform_v1.PipelineServiceClient,
) -> None:
    first = submit(templates["sleeper"], "list-a", tmp_path / "root", pid_file=str(tmp_path / "pid"))
    second = submit(templates["tiny"], "list-b", tmp_path / "root")
    with pytest.raises(exceptions.AlreadyExists, match="list-b already exists"):
        submit(templates["tiny"], "list-b", tmp_path / "root")
    by_pipeline = aiplatform.PipelineJob.list(filter='pipeline_name="tiny"')
    assert [j.resource_name for j in by_pipeline] == [second.resource_name]
    assert [j.display_name for j in aiplatform.PipelineJob.list(order_by="create_time desc")] == [
        "list-b",
        "list-a",
    ]
    assert [j.display_name for j in aiplatform.PipelineJob.list(filter='state="PIPELINE_STATE_QUEUED"')] == [
        "list-b"
    ]
    page = client.list_pipeline_jobs(request={"parent": PARENT, "page_size": 1})
    assert [j.display_name for j in page.pipeline_jobs] == ["list-a"] and page.next_page_token
    assert [j.display_name for j in page] == ["list-a", "list-b"]  # the pager follows the token
    with pytest.raises(exceptions.InvalidArgument, match="Unsupported filter"):
        client.list_pipeline_jobs(request={"parent": PARENT, "filter": 'create_time>"2026-01-01"'})

    with pytest.raises(exceptions.FailedPrecondition, match="cancel it"):
        first.delete()
    second.cancel()
    second.delete()  # an operation, returned done
    with pytest.raises(exceptions.NotFound):
        client.get_pipeline_job(name=second.resource_name)
    first.cancel()
    wait_until(lambda: state_of(client, first.resource_name) == State.PIPELINE_STATE_CANCELLED)


def test_create_checks_template_parameters_and_ids(
    vertex: Vertex,
    templates: dict[str, Path],
    client: aiplatform_v1.PipelineServiceClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)

    def create(job: dict[str, Any], job_id: str = "") -> Any:
        return client.create_pipeline_job(
            parent=PARENT, pipeline_job=aiplatform_v1.PipelineJob(job), pipeline_job_id=job_id
        )

    with pytest.raises(exceptions.FailedPrecondition, match="STORAGE_EMULATOR_HOST is not set"):
        create({"template_uri": "gs://bucket/templates/tiny.yaml"})
    with pytest.raises(exceptions.InvalidArgument, match="absolute path"):
        create({"template_uri": "templates/tiny.yaml"})
    with pytest.raises(exceptions.InvalidArgument, match="needs pipeline_spec or template_uri"):
        create({"display_name": "nothing"})
    uri = f"file://{templates['tiny']}"
    with pytest.raises(exceptions.InvalidArgument, match="'nope' is not found"):
        create({"template_uri": uri, "runtime_config": {"parameter_values": {"nope": 1}}})
    with pytest.raises(exceptions.InvalidArgument, match="'x' does not match its type NUMBER_INTEGER"):
        create({"template_uri": uri, "runtime_config": {"parameter_values": {"x": 1.5}}})
    with pytest.raises(exceptions.InvalidArgument, match="'flag' does not match its type BOOLEAN"):
        create({"template_uri": uri, "runtime_config": {"parameter_values": {"flag": "yes"}}})
    with pytest.raises(exceptions.InvalidArgument, match="pid_file'] are required"):
        create({"template_uri": f"file://{templates['sleeper']}"})
    with pytest.raises(exceptions.InvalidArgument, match="Invalid pipeline_job_id"):
        create({"template_uri": uri}, "Not_Valid")
    assert list(client.list_pipeline_jobs(parent=PARENT)) == []


def test_gs_template_and_output_directory_with_the_local_storage(
    vertex: Vertex, templates: dict[str, Path], client: aiplatform_v1.PipelineServiceClient
) -> None:
    from google.cloud import storage  # type: ignore[attr-defined]

    from localgcp.events import CollectingSink
    from localgcp.services.base import ServiceContext
    from localgcp.services.storage import StorageService

    gcs = StorageService(ServiceContext("127.0.0.1", 0, vertex.home / "storage", PROJECT, CollectingSink()))
    gcs.start()
    try:
        os.environ["STORAGE_EMULATOR_HOST"] = gcs.url
        bucket = storage.Client(project=PROJECT).create_bucket("artifacts")
        bucket.blob("templates/tiny.yaml").upload_from_filename(str(templates["tiny"]))
        job = client.create_pipeline_job(
            parent=PARENT,
            pipeline_job_id="from-gcs",
            pipeline_job=aiplatform_v1.PipelineJob(
                display_name="from-gcs",
                template_uri="gs://artifacts/templates/tiny.yaml",
                service_account="runner@p.iam.gserviceaccount.com",
                runtime_config={
                    "gcs_output_directory": "gs://artifacts/pipelines",
                    "parameter_values": {"x": 1, "flag": True},
                },
            ),
        )
        assert job.pipeline_spec["pipelineInfo"]["name"] == "tiny"  # read from the template
        terminal = {State.PIPELINE_STATE_SUCCEEDED, State.PIPELINE_STATE_FAILED}
        wait_until(lambda: state_of(client, job.name) in terminal, what="the job ended")
        done = client.get_pipeline_job(name=job.name)
        assert done.state == State.PIPELINE_STATE_SUCCEEDED, done.error.message
        assert done.service_account == "runner@p.iam.gserviceaccount.com"
        assert done.runtime_config.gcs_output_directory == "gs://artifacts/pipelines"
        # kfp.local writes local files: a gs:// root is a folder of the service's own
        local_root = vertex.home / "aiplatform" / "pipelines" / "from-gcs" / "root"
        assert list(local_root.glob("tiny-*/describe/executor_output.json"))
    finally:
        gcs.stop()


def test_jobs_active_when_the_service_stops_fail(
    vertex: Vertex,
    templates: dict[str, Path],
    tmp_path: Path,
    client: aiplatform_v1.PipelineServiceClient,
) -> None:
    pid_file = tmp_path / "pid"
    running = submit(templates["sleeper"], "cut-short", tmp_path / "root", pid_file=str(pid_file))
    queued = submit(templates["tiny"], "never-ran", tmp_path / "root")
    wait_until(lambda: pid_file.exists() and pid_file.read_text() != "", what="the sleeping task started")
    pid = int(pid_file.read_text())
    vertex.restart()
    wait_until(lambda: gone(pid), timeout_s=10, what=f"the task process {pid} ended")
    with grpc.insecure_channel(vertex.service.address) as channel:  # the restarted service's port
        again = aiplatform_v1.PipelineServiceClient(transport=PipelineServiceGrpcTransport(channel=channel))
        cut = again.get_pipeline_job(name=running.resource_name)
        never = again.get_pipeline_job(name=queued.resource_name)
    assert cut.state == never.state == State.PIPELINE_STATE_FAILED
    assert "stopped with the local Vertex AI service" in cut.error.message
    assert "stopped before it ran" in never.error.message
