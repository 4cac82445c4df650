"""Run a pipeline job locally with kfp.local: the backend of the local Vertex AI Pipelines connector.

``run_pipeline_job`` runs synchronously and returns (and stores under
``<home>/pipelines/jobs/<job_id>.json``) a record from which a PipelineJob resource can be
built: ``state`` (Vertex's ``PIPELINE_STATE_*``), create/start/end times, the pipeline outputs
and, on failure, ``error`` ({code, message}). ``get_pipeline_job`` reads a stored record back.
"""

from __future__ import annotations

import json
import re
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rillflow.settings import get_settings

SUCCEEDED, FAILED = "PIPELINE_STATE_SUCCEEDED", "PIPELINE_STATE_FAILED"


def _jobs_dir() -> Path:
    path = get_settings().home / "pipelines" / "jobs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_template(template_name: str) -> str:
    """``daily_ml``, ``daily-ml``, ``ml/pipelines/compiled/daily_ml.yaml`` or ``gs://…/daily_ml.yaml`` → name."""
    from ml.pipelines.daily import PIPELINES

    stem = re.sub(r"\.(ya?ml|json)$", "", template_name.rstrip("/").rsplit("/", 1)[-1]).replace("-", "_")
    if stem not in PIPELINES:
        raise KeyError(f"unknown pipeline template {template_name!r}; known: {sorted(PIPELINES)}")
    return stem


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _outputs(task: Any) -> dict[str, Any]:
    outputs = getattr(task, "outputs", None) or {}
    result = {}
    for key, value in dict(outputs).items():
        try:
            result[key] = json.loads(value) if isinstance(value, str) else str(value)
        except ValueError:
            result[key] = value
    return result


def run_pipeline_job(template_name: str, parameter_values: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the named pipeline to completion with kfp.local and return its job record."""
    from kfp import local

    from ml.pipelines.daily import PIPELINES

    job_id = f"{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"
    record: dict[str, Any] = {
        "job_id": job_id,
        "template": template_name,
        "parameter_values": dict(parameter_values or {}),
        "create_time": _now(),
        "start_time": _now(),
    }
    try:
        name = resolve_template(template_name)
        record["pipeline"] = name
        root = get_settings().home / "pipelines" / "root" / job_id
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
        task = PIPELINES[name](**record["parameter_values"])
        record.update(state=SUCCEEDED, outputs=_outputs(task), pipeline_root=str(root))
    except Exception as exc:  # the record is the error channel: the caller polls the state
        record.update(
            state=FAILED,
            outputs={},
            error={
                "code": 13,
                "message": f"{type(exc).__name__}: {exc}",
                "details": traceback.format_exc()[-4000:],
            },
        )
    record["end_time"] = _now()
    (_jobs_dir() / f"{job_id}.json").write_text(json.dumps(record, indent=2, default=str))
    return record


def get_pipeline_job(job_id: str) -> dict[str, Any]:
    path = _jobs_dir() / f"{job_id}.json"
    if not path.exists():
        raise KeyError(f"no pipeline job {job_id!r}")
    return json.loads(path.read_text())


def list_pipeline_jobs() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(_jobs_dir().glob("*.json"))]
