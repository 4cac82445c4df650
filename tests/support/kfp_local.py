"""Run a pipeline in this process with kfp.local, straight from its Python definition: what the ML
tests (``tests/ml/test_pipelines.py``, ``test_cold_start.py``) use to run a pipeline without a
Vertex AI service. A test helper, not shipped: the platform runs pipelines only as PipelineJobs.

Everything else runs pipelines as Vertex AI PipelineJobs (:mod:`ml.pipelines.jobs`; locally the
PipelineService of ``localgcp.services.aiplatform``, which runs the compiled YAML with kfp.local).

``run_pipeline_job`` runs synchronously and returns (and stores under
``<home>/pipelines/jobs/<job_id>.json``) a record from which a PipelineJob resource can be
built: ``state`` (Vertex's ``PIPELINE_STATE_*``), create/start/end times, the pipeline outputs
and, on failure, ``error`` ({code, message}). ``get_pipeline_job`` reads a stored record back.

``run_pipeline_job_isolated`` runs the same in a child process (``python -m
tests.support.kfp_local``) whose output goes to ``<home>/pipelines/logs/<job_id>.log``:
kfp.local replaces the root logger's handlers and ``builtins.print`` while it runs, which a
long-lived process with other threads should not have done to it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
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


def new_job_id() -> str:
    return f"{datetime.now(UTC):%Y%m%d%H%M%S}-{uuid.uuid4().hex[:8]}"


def run_pipeline_job(
    template_name: str, parameter_values: dict[str, Any] | None = None, job_id: str | None = None
) -> dict[str, Any]:
    """Run the named pipeline to completion with kfp.local and return its job record."""
    from kfp import local

    from ml.pipelines.daily import PIPELINES

    job_id = job_id or new_job_id()
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


def run_pipeline_job_isolated(
    template_name: str, parameter_values: dict[str, Any] | None = None
) -> dict[str, Any]:
    """:func:`run_pipeline_job` in a child process, its output in ``<home>/pipelines/logs/``."""
    job_id = new_job_id()
    logs = get_settings().home / "pipelines" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{job_id}.log"
    params = json.dumps(parameter_values or {})
    command = [sys.executable, "-m", "tests.support.kfp_local", template_name, params, "--job-id", job_id]
    with log_path.open("ab") as log:
        code = subprocess.run(
            command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ), check=False
        )
    try:
        record = get_pipeline_job(job_id)
    except KeyError:  # the child died before writing its record
        tail = log_path.read_text(errors="replace")[-4000:]
        record = {
            "job_id": job_id,
            "template": template_name,
            "parameter_values": dict(parameter_values or {}),
            "state": FAILED,
            "outputs": {},
            "error": {
                "code": 13,
                "message": f"pipeline process exited with {code.returncode}",
                "details": tail,
            },
        }
    record["log"] = str(log_path)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one pipeline job with kfp.local (see module docs).")
    parser.add_argument("template")
    parser.add_argument("parameters", help="JSON object of parameter values")
    parser.add_argument("--job-id", default=None)
    args = parser.parse_args(argv)
    record = run_pipeline_job(args.template, json.loads(args.parameters), args.job_id)
    return 0 if record["state"] == SUCCEEDED else 1


if __name__ == "__main__":
    raise SystemExit(main())
