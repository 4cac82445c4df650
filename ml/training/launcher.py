"""Launch the forecaster's training as a Vertex AI CustomJob (``aiplatform.CustomJob``).

The series snapshot is uploaded next to the job's output, the job runs
``python -m ml.training.forecaster_job`` in the training image on the machine of the settings
(``forecast_train_machine_type``, optional ``forecast_train_accelerator_type`` / ``_count``), and
its ``AIP_MODEL_DIR`` (``gs://<artifacts bucket>/training/<model>/<stamp>/model/``) holds the
model. Locally the local Vertex AI runs the same command as a child process (``localgcp``'s
JobService), writing through the local Storage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ml.training import gcs

TRAIN_COMMAND = ["python", "-m", "ml.training.forecaster_job"]
#: polling of the job's state: from this many seconds, doubling up to the cap
POLL_FIRST_S, POLL_MAX_S = 0.2, 10.0


@dataclass(frozen=True)
class JobRun:
    job: str
    model_uri: str
    seconds: float


def worker_pool(settings: Any, image: str, args: list[str]) -> dict[str, Any]:
    machine: dict[str, Any] = {"machine_type": settings.forecast_train_machine_type}
    if settings.forecast_train_accelerator_type:
        machine["accelerator_type"] = settings.forecast_train_accelerator_type
        machine["accelerator_count"] = max(1, settings.forecast_train_accelerator_count)
    return {
        "machine_spec": machine,
        "replica_count": 1,
        "container_spec": {
            "image_uri": image,
            "command": TRAIN_COMMAND,
            "args": args,
            "env": [{"name": "RILLFLOW_ML_THREADS", "value": str(settings.ml_threads)}],
        },
    }


def wait(job: Any, timeout_s: float) -> None:
    """Poll the job until it ends (short first polls: a local job takes seconds)."""
    from google.cloud.aiplatform import gapic

    done = {
        gapic.JobState.JOB_STATE_SUCCEEDED,
        gapic.JobState.JOB_STATE_FAILED,
        gapic.JobState.JOB_STATE_CANCELLED,
    }
    deadline, delay = time.monotonic() + timeout_s, POLL_FIRST_S
    while job.state not in done:
        if time.monotonic() > deadline:
            job.cancel()
            raise TimeoutError(
                f"CustomJob {job.resource_name} still {job.state.name} after {timeout_s:.0f} s"
            )
        time.sleep(delay)
        delay = min(delay * 2, POLL_MAX_S)
    if job.state != gapic.JobState.JOB_STATE_SUCCEEDED:
        message = job.error.message if job.error is not None else ""
        raise RuntimeError(f"CustomJob {job.resource_name} ended {job.state.name}: {message}")


def run_forecaster_job(
    series: Path, horizon: int, epochs: int, model_name: str, settings: Any, timeout_s: float = 6 * 3600
) -> JobRun:
    """Run the training job on ``series`` (a local Parquet file) to completion."""
    from google.cloud import aiplatform

    from ml.pipelines.images import TRAINING_IMAGE
    from rillflow.vertex_client import init_vertex

    bucket = settings.ml_bucket
    init_vertex(settings.project, settings.region, staging_bucket=f"gs://{bucket}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    base = f"gs://{bucket}/training/{model_name}/{stamp}"
    series_uri = f"{base}/input/series.parquet"
    gcs.put_file(series, series_uri, settings.project)
    args = ["--series", series_uri, "--horizon", str(horizon), "--epochs", str(epochs)]
    job = aiplatform.CustomJob(
        display_name=f"train-{model_name.replace('_', '-')}-{stamp.lower()}",
        worker_pool_specs=[worker_pool(settings, TRAINING_IMAGE, args)],
        base_output_dir=base,
        staging_bucket=f"gs://{bucket}",
        labels={"rillflow_model": model_name},
    )
    started = time.monotonic()
    job.submit(service_account=settings.vertex_service_account or None)
    wait(job, timeout_s)
    return JobRun(job.resource_name, f"{base}/model", round(time.monotonic() - started, 3))
