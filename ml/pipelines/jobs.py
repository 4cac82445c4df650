"""Run the compiled pipelines as Vertex AI PipelineJobs and read back what they did.

One code path: ``aiplatform.PipelineJob(template_path=<compiled YAML>, ...).submit()``, initialised
by :func:`rillflow.vertex_client.init_vertex`. In the cloud that is Vertex AI Pipelines; locally
(``AIPLATFORM_EMULATOR_HOST`` set, as the stack exports it) it is localgcp's Vertex AI, whose
PipelineService runs the same YAML with kfp.local in a child process. The daily workflow starts
the same templates through its Vertex AI connector.

A job's outputs: the pipeline's root task in ``job_detail.task_details`` carries them in its
execution metadata as ``output:<name>`` (how Vertex records a run's parameters and outputs); the
pipelines return JSON strings, which :func:`outputs` decodes.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.pipelines.compile import COMPILED_DIR
from rillflow.settings import Settings, get_settings

if TYPE_CHECKING:
    from google.cloud import aiplatform

SUCCEEDED = "PIPELINE_STATE_SUCCEEDED"
TERMINAL = frozenset({SUCCEEDED, "PIPELINE_STATE_FAILED", "PIPELINE_STATE_CANCELLED"})
POLL_S = 2.0


def template_path(pipeline: str, compiled_dir: Path = COMPILED_DIR) -> Path:
    """The compiled template of ``daily_ml`` (or ``daily-ml``, or a path to a ``.yaml``)."""
    if pipeline.endswith((".yaml", ".yml", ".json")):
        path = Path(pipeline)
    else:
        path = compiled_dir / f"{pipeline.replace('-', '_')}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in compiled_dir.glob("*.yaml"))
        raise KeyError(f"unknown pipeline {pipeline!r}; known: {known} (`rillflow ml compile` writes them)")
    return path


def pipeline_root(settings: Settings) -> str:
    """Where runs write their artifacts: terraform's ``pipeline_root``, ``gs://<ML bucket>/pipelines``
    (the local Vertex AI keeps a gs:// root's files in a folder of its own)."""
    return f"gs://{settings.ml_bucket}/pipelines"


def new_job_id(pipeline: str) -> str:
    """A job id Vertex accepts (``[a-z][-a-z0-9]*``) and no two runs share, even in one second."""
    stem = pipeline.rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("_", "-").lower()
    return f"{stem}-{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"


def submit(
    pipeline: str,
    parameter_values: dict[str, Any] | None = None,
    settings: Settings | None = None,
    job_id: str | None = None,
) -> aiplatform.PipelineJob:
    """Submit ``pipeline``'s compiled template with ``parameter_values``; returns at once."""
    from google.cloud import aiplatform

    from rillflow.vertex_client import init_vertex

    settings = settings or get_settings()
    path = template_path(pipeline)
    init_vertex(settings.project, settings.region)
    job = aiplatform.PipelineJob(
        display_name=f"rillflow-{path.stem.replace('_', '-')}",
        template_path=str(path),
        job_id=job_id or new_job_id(path.stem),
        pipeline_root=pipeline_root(settings),
        parameter_values=dict(parameter_values or {}),
    )
    # the SDK prints its own lines on submit (a console URL, how to fetch the job again) to stdout,
    # through the progress bars of `rillflow backfill`/`demo`; callers report the job themselves
    sdk_log = logging.getLogger("google.cloud.aiplatform.pipeline_jobs")
    level = sdk_log.level
    sdk_log.setLevel(logging.WARNING)
    try:
        job.submit(service_account=settings.vertex_service_account or None)
    finally:
        sdk_log.setLevel(level)
    return job


def wait(job: aiplatform.PipelineJob, poll_s: float = POLL_S, timeout_s: float | None = None) -> str:
    """Poll until the job ends; its final state's name (``PIPELINE_STATE_*``)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while (state := job.state.name if job.state is not None else "") not in TERMINAL:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"pipeline job {job.resource_name} still {state} after {timeout_s:.0f}s")
        time.sleep(poll_s)
    return state


def _decoded(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def outputs(resource: Any) -> dict[str, Any]:
    """The pipeline's outputs from a PipelineJob resource (``job.gca_resource``), JSON decoded."""
    for task in resource.job_detail.task_details:
        if not task.parent_task_id:  # the pipeline's own (root) task
            metadata = dict(task.execution.metadata or {})
            return {
                k.removeprefix("output:"): _decoded(v) for k, v in metadata.items() if k.startswith("output:")
            }
    return {}


def _parameter_values(resource: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """The job's parameters; protobuf carries every number as a double: integers as declared."""
    declared = ((spec.get("root") or {}).get("inputDefinitions") or {}).get("parameters") or {}
    values = dict(resource.runtime_config.parameter_values or {})
    for key, value in values.items():
        kind = (declared.get(key) or {}).get("parameterType")
        if kind == "NUMBER_INTEGER" and isinstance(value, float) and value.is_integer():
            values[key] = int(value)
    return values


def record(resource: Any) -> dict[str, Any]:
    """A PipelineJob resource as a plain dict: what ``rillflow ml run``, the backfill and the demo
    report."""
    spec = dict(resource.pipeline_spec or {})
    return {
        "name": resource.name,
        "job_id": resource.name.rsplit("/", 1)[-1],
        "pipeline": str((spec.get("pipelineInfo") or {}).get("name", "")),
        "state": resource.state.name,
        "parameter_values": _parameter_values(resource, spec),
        "outputs": outputs(resource),
        "error": resource.error.message or None,
        "create_time": resource.create_time.isoformat() if resource.create_time else None,
        "end_time": resource.end_time.isoformat() if resource.end_time else None,
    }


def run(
    pipeline: str, parameter_values: dict[str, Any] | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Submit ``pipeline``, wait for it to end and return its :func:`record`."""
    job = submit(pipeline, parameter_values, settings)
    wait(job)
    return record(job.gca_resource)


def latest(pipeline: str, settings: Settings | None = None) -> dict[str, Any] | None:
    """The :func:`record` of ``pipeline``'s (e.g. ``daily-ml``) most recent job, or None."""
    from google.cloud import aiplatform

    from rillflow.vertex_client import init_vertex

    settings = settings or get_settings()
    init_vertex(settings.project, settings.region)
    name = pipeline.replace("_", "-")
    jobs = aiplatform.PipelineJob.list(filter=f'pipeline_name="{name}"', order_by="create_time desc")
    return record(jobs[0].gca_resource) if jobs else None
