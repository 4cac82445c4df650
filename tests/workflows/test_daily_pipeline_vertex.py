"""workflows/daily_pipeline.yaml's Vertex step run by the local interpreter against recording
connectors: a pipeline job that fails is run again once as a new job; two failures fail the day,
record it and raise the alert."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from localgcp.services.workflows import Execution, WorkflowError
from localgcp.services.workflows.connectors import ConnectorRegistry
from localgcp.services.workflows.lang.parser import load_workflow

YAML = Path(__file__).resolve().parents[2] / "workflows" / "daily_pipeline.yaml"
AIPLATFORM = "googleapis.aiplatform.v1.projects.locations.pipelineJobs"
DATAFORM = "googleapis.dataform.v1beta1.projects.locations.repositories"
FIRESTORE = "googleapis.firestore.v1.projects.databases.documents"
PUBSUB = "googleapis.pubsub.v1.projects.topics"


class _Function(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server API
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"rows": 3}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def function_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Function)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _Cloud:
    """Recording connectors; the first ``failures`` pipeline jobs end FAILED."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.jobs: list[dict[str, Any]] = []
        self.runs: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []

    def registry(self) -> ConnectorRegistry:
        registry = ConnectorRegistry()
        registry.register(f"{FIRESTORE}.patch", self.patch)
        registry.register(f"{PUBSUB}.publish", self.publish)
        registry.register(f"{DATAFORM}.compilationResults.create", lambda a: {"name": "compilation"})
        registry.register(f"{DATAFORM}.workflowInvocations.create", lambda a: {"name": "invocation"})
        registry.register(f"{DATAFORM}.workflowInvocations.get", lambda a: {"state": "SUCCEEDED"})
        registry.register(f"{AIPLATFORM}.create", self.create)
        registry.register(f"{AIPLATFORM}.get", self.get)
        return registry

    def patch(self, args: dict[str, Any]) -> dict[str, Any]:
        self.runs.append(args)
        return {"name": args["name"]}

    def publish(self, args: dict[str, Any]) -> dict[str, Any]:
        self.alerts.append(args)
        return {"messageIds": ["1"]}

    def create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = f"{args['parent']}/pipelineJobs/{args['pipelineJobId']}"
        assert name not in [j["name"] for j in self.jobs], "a pipeline job id used twice (Vertex: 409)"
        self.jobs.append({"name": name, "body": args["body"]})
        return {"name": name, "state": "PIPELINE_STATE_RUNNING"}

    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        index = [j["name"] for j in self.jobs].index(args["name"])
        state = "PIPELINE_STATE_FAILED" if index < self.failures else "PIPELINE_STATE_SUCCEEDED"
        return {"name": args["name"], "state": state}


def _run(cloud: _Cloud, function_url: str) -> Any:
    env = {
        "GOOGLE_CLOUD_PROJECT_ID": "proj",
        "GOOGLE_CLOUD_LOCATION": "europe-west1",
        "COMPACT_APP_EVENTS_URL": f"{function_url}/compact",
        "EXPORT_SALES_URL": f"{function_url}/export",
        "LAKE_BUCKET": "lake",
        "DATAFORM_REPOSITORY": "rillflow",
        "DATAFORM_SERVICE_ACCOUNT": "dataform@proj.iam.gserviceaccount.com",
        "ALERTS_TOPIC": "alerts",
        "PIPELINE_TEMPLATES_URI": "gs://artifacts/templates",
        "PIPELINE_ROOT": "gs://artifacts/pipelines",
        "VERTEX_SERVICE_ACCOUNT": "vertex@proj.iam.gserviceaccount.com",
    }
    execution = Execution(load_workflow(YAML), env=env, connectors=cloud.registry(), time_scale=0.0)
    return execution.run({"date": "2026-01-01", "run_id": "daily-20260101", "weekly": False})


def test_a_failed_pipeline_job_is_run_again_as_a_new_job(function_url: str) -> None:
    cloud = _Cloud(failures=1)
    result = _run(cloud, function_url)
    assert result["status"] == "SUCCEEDED" and result["exported_rows"] == 3
    ids = [j["name"].rsplit("/", 1)[1] for j in cloud.jobs]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert all(i.startswith("daily-20260101-") for i in ids)
    assert cloud.jobs[0]["body"] == cloud.jobs[1]["body"]  # the same pipeline and parameters
    assert cloud.alerts == []
    assert cloud.runs[-1]["body"]["fields"]["status"]["stringValue"] == "SUCCEEDED"


def test_a_second_failure_fails_the_day_records_it_and_alerts(function_url: str) -> None:
    cloud = _Cloud(failures=2)
    with pytest.raises(WorkflowError) as raised:
        _run(cloud, function_url)
    assert "PipelineJobError" in str(raised.value.payload)
    assert len(cloud.jobs) == 2  # one retry, not more
    final = cloud.runs[-1]["body"]["fields"]
    assert (
        final["status"]["stringValue"] == "FAILED"
        and "ended PIPELINE_STATE_FAILED" in final["error"]["stringValue"]
    )
    assert len(cloud.alerts) == 1
