"""Custom jobs as local processes (AIP_* contract, failure reason, cancel) and tabular datasets."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from google.api_core import exceptions
from google.cloud import aiplatform

from tests.support.vertex import Vertex

pytestmark = pytest.mark.service
WRITE_MODEL = (
    "import os, pathlib; d = pathlib.Path(os.environ['AIP_MODEL_DIR']); "
    "(d / 'model.txt').write_text(os.environ['CLOUD_ML_JOB_ID'] + ' ' + os.environ['GREETING'])"
)


def job(name: str, code: str, base: str) -> aiplatform.CustomJob:
    return aiplatform.CustomJob(
        display_name=name,
        worker_pool_specs=[
            {
                "machine_spec": {"machine_type": "n1-standard-4"},
                "replica_count": 1,
                "container_spec": {
                    "image_uri": "europe-west1-docker.pkg.dev/p/rillflow/ml-train:latest",
                    "command": [sys.executable, "-c"],
                    "args": [code],
                    "env": [{"name": "GREETING", "value": "hello"}],
                },
            }
        ],
        base_output_dir=base,
        staging_bucket="gs://rillflow-staging",  # the SDK insists on one even with base_output_dir
    )


def test_job_writes_model_dir(vertex: Vertex, tmp_path: Path) -> None:
    custom = job("train", WRITE_MODEL, str(tmp_path / "out"))
    custom.run(sync=True)
    assert custom.state == aiplatform.gapic.JobState.JOB_STATE_SUCCEEDED
    job_id = custom.resource_name.rsplit("/", 1)[1]
    assert (tmp_path / "out" / "model" / "model.txt").read_text() == f"{job_id} hello"
    assert [j.display_name for j in aiplatform.CustomJob.list(filter='display_name="train"')] == ["train"]


def test_failing_job_reports_reason(vertex: Vertex, tmp_path: Path) -> None:
    custom = job("broken", "import sys; print('bad input table'); sys.exit(3)", str(tmp_path))
    with pytest.raises(RuntimeError, match="non-zero status of 3"):
        custom.run(sync=True)
    assert custom.state == aiplatform.gapic.JobState.JOB_STATE_FAILED
    assert custom.error is not None and "bad input table" in custom.error.message


def test_cancel_and_gcs_without_storage(
    vertex: Vertex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    custom = job("slow", "import time; time.sleep(60)", str(tmp_path))
    custom.submit()
    deadline = time.monotonic() + 10
    while custom.state != aiplatform.gapic.JobState.JOB_STATE_RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
    custom.cancel()
    while custom.state == aiplatform.gapic.JobState.JOB_STATE_CANCELLING and time.monotonic() < deadline:
        time.sleep(0.05)
    assert custom.state == aiplatform.gapic.JobState.JOB_STATE_CANCELLED
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    with pytest.raises(exceptions.FailedPrecondition, match="STORAGE_EMULATOR_HOST"):
        job("gcs", WRITE_MODEL, "gs://bucket/out").submit()


def test_restart_fails_running_job(vertex: Vertex, tmp_path: Path) -> None:
    custom = job("interrupted", "import time; time.sleep(60)", str(tmp_path))
    custom.submit()
    vertex.restart()
    again = aiplatform.CustomJob.get(custom.resource_name)
    assert again.state == aiplatform.gapic.JobState.JOB_STATE_FAILED
    assert again.error is not None and "stop" in again.error.message
    with pytest.raises(exceptions.FailedPrecondition):
        again.cancel()  # already finished


def test_tabular_and_time_series_datasets(vertex: Vertex) -> None:
    table = aiplatform.TabularDataset.create(
        display_name="churn", bq_source="bq://rillflow-test.ml.churn_features"
    )
    series = aiplatform.TimeSeriesDataset.create(
        display_name="activity", bq_source="bq://rillflow-test.ml.hourly"
    )
    assert table.metadata_schema_uri.endswith("tabular_1.0.0.yaml")
    assert series.metadata_schema_uri.endswith("time_series_1.0.0.yaml")
    vertex.restart()
    again = aiplatform.TabularDataset(table.resource_name)
    assert (
        again.gca_resource.metadata["inputConfig"]["bigquerySource"]["uri"]
        == "bq://rillflow-test.ml.churn_features"
    )
    assert [d.display_name for d in aiplatform.TabularDataset.list(filter='display_name="churn"')] == [
        "churn"
    ]
    with pytest.raises(exceptions.InvalidArgument):
        aiplatform.TabularDataset.create(display_name="bad", bq_source="bq://not-a-table")
