"""workflows/streaming_launcher.yaml run by the local interpreter with the Dataflow connector."""

from __future__ import annotations

import json
from pathlib import Path

from harness.connectors.dataflow import PREFIX, LocalDataflow
from localgcp.services.workflows import Execution
from localgcp.services.workflows.connectors import ConnectorRegistry
from localgcp.services.workflows.lang.parser import load_workflow
from rillflow.warehouse import _ident
from streaming.sinks import WarehouseTarget

YAML = Path(__file__).resolve().parents[2] / "workflows" / "streaming_launcher.yaml"
METADATA = YAML.parents[1] / "streaming" / "metadata.json"

ENV = {
    "GOOGLE_CLOUD_PROJECT_ID": "proj",
    "GOOGLE_CLOUD_LOCATION": "europe-west1",
    "APP_EVENTS_SUBSCRIPTION": "app-events-beam",
    "APP_EVENTS_DEADLETTER_TOPIC": "app-events-deadletter",
    "LAKE_BUCKET": "lake",
    "STREAMING_TEMPLATE_PATH": "gs://artifacts/templates/app_events.json",
    "DATAFLOW_SERVICE_ACCOUNT": "df@proj.iam.gserviceaccount.com",
}


def _registry(dataflow: LocalDataflow) -> ConnectorRegistry:
    registry = ConnectorRegistry()
    registry.register(f"{PREFIX}.jobs.list", dataflow.list_jobs)
    registry.register(f"{PREFIX}.flexTemplates.launch", dataflow.launch)
    return registry


def _run(dataflow: LocalDataflow, env: dict[str, str]) -> dict[str, str]:
    execution = Execution(load_workflow(YAML), env=env, connectors=_registry(dataflow), time_scale=0.0)
    result: dict[str, str] = execution.run({})
    return result


def test_launches_once_then_reports_the_running_job() -> None:
    dataflow = LocalDataflow()
    first = _run(dataflow, ENV)
    assert first["action"] == "launched" and first["job_name"] == "app-events-streaming"
    job = dataflow.active_job("app-events-streaming")
    assert job is not None and job.id == first["job_id"]
    assert job.parameters == {
        "input_subscription": "projects/proj/subscriptions/app-events-beam",
        "deadletter_topic": "projects/proj/topics/app-events-deadletter",
        "lake_uri": "gs://lake",
        "warehouse": "bigquery",
        "bq_dataset": "streaming",
        "bq_location": "europe-west1",
    }
    second = _run(dataflow, ENV)
    assert second == {
        "action": "already_running",
        "job_id": first["job_id"],
        "job_name": "app-events-streaming",
    }
    assert len(dataflow.list_jobs({"filter": "ALL", "location": "europe-west1"})["jobs"]) == 1


def test_local_warehouse_parameters_come_from_the_environment() -> None:
    dataflow = LocalDataflow()
    _run(dataflow, {**ENV, "STREAMING_WAREHOUSE": "duckdb", "STREAMING_DUCKDB_PATH": "/tmp/w.duckdb"})
    job = dataflow.active_job("app-events-streaming")
    assert job is not None
    assert job.parameters["warehouse"] == "duckdb" and job.parameters["duckdb_path"] == "/tmp/w.duckdb"
    assert "bq_dataset" not in job.parameters


def test_the_dataset_parameter_is_one_the_sink_accepts_and_workers_get_the_image() -> None:
    """The sink writes to <project>.<dataset> and checks the dataset is a plain identifier: the
    launcher once passed ``proj:streaming``, which that check rejects on the first merge."""
    dataflow = LocalDataflow()
    image = "europe-west1-docker.pkg.dev/proj/rillflow/streaming:abc123"
    _run(dataflow, {**ENV, "STREAMING_SDK_IMAGE": image})
    job = dataflow.active_job("app-events-streaming")
    assert job is not None and job.parameters["sdk_container_image"] == image
    target = WarehouseTarget(kind="bigquery", dataset=job.parameters["bq_dataset"], project="proj")
    assert _ident(target.dataset) == "streaming"
    declared = {p["name"] for p in json.loads(METADATA.read_text())["parameters"]}
    assert set(job.parameters) <= declared, "Dataflow rejects parameters the template does not declare"


def test_daily_pipeline_and_launcher_parse_like_the_service_would() -> None:
    for path in sorted(YAML.parent.glob("*.yaml")):
        assert load_workflow(path).subworkflows, path
