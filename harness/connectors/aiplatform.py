"""``googleapis.aiplatform.v1.projects.locations.pipelineJobs.{create,get}`` backed by kfp.local.

``create`` answers a PipelineJob in ``PIPELINE_STATE_RUNNING`` at once and runs the compiled
pipeline named by ``templateUri``'s file name with ``ml.pipelines.local_runner`` (in a child
process, its log under ``<home>/pipelines/logs/``) from a background thread; ``get`` reports the
terminal state the way Vertex does.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from localgcp.services.workflows import errors
from localgcp.services.workflows.googleapis.timestamps import rfc3339_now

PREFIX = "googleapis.aiplatform.v1.projects.locations.pipelineJobs"


@dataclass
class _Job:
    name: str
    display_name: str
    template: str
    parameters: dict[str, Any]
    state: str = "PIPELINE_STATE_RUNNING"
    create_time: str = field(default_factory=rfc3339_now)
    end_time: str | None = None
    error: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)


class LocalPipelineJobs:
    def __init__(self) -> None:
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()  # one pipeline at a time: two cores, one DuckDB writer

    def create(self, args: dict[str, Any]) -> dict[str, Any]:
        body = args.get("body") or {}
        job_id = args.get("pipelineJobId") or uuid.uuid4().hex[:12]
        name = f"{args['parent']}/pipelineJobs/{job_id}"
        template = PurePosixPath(str(body.get("templateUri", ""))).stem
        if not template:
            raise errors.make("HttpError", "pipelineJobs.create needs body.templateUri", code=400)
        params = dict((body.get("runtimeConfig") or {}).get("parameterValues") or {})
        with self._lock:
            existing = self._jobs.get(name)
            if existing is not None:
                raise errors.make("HttpError", f"pipeline job {name} already exists", code=409)
            job = _Job(name, body.get("displayName", job_id), template, params)
            self._jobs[name] = job
        threading.Thread(target=self._execute, args=(job,), name=f"vertex-{job_id}", daemon=True).start()
        return self._describe(job)

    def _execute(self, job: _Job) -> None:
        from ml.pipelines.local_runner import run_pipeline_job_isolated

        try:
            with self._run_lock:
                outcome = run_pipeline_job_isolated(job.template, job.parameters)
            state = str(outcome.get("state", "PIPELINE_STATE_SUCCEEDED"))
            error = str(outcome.get("error") or "")
            outputs = dict(outcome.get("outputs") or {})
        except Exception as exc:  # recorded on the job; the workflow sees FAILED
            state, error, outputs = "PIPELINE_STATE_FAILED", f"{type(exc).__name__}: {exc}", {}
        with self._lock:
            job.state, job.error, job.outputs, job.end_time = state, error, outputs, rfc3339_now()

    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(args["name"])
            if job is None:
                raise errors.make("HttpError", f"pipeline job {args['name']} not found", code=404)
            return self._describe(job)

    @staticmethod
    def _describe(job: _Job) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": job.name,
            "displayName": job.display_name,
            "state": job.state,
            "createTime": job.create_time,
            "runtimeConfig": {"parameterValues": job.parameters},
        }
        if job.end_time:
            out["endTime"] = job.end_time
        if job.error:
            out["error"] = {"code": 2, "message": job.error}
        if job.outputs:
            out["jobDetail"] = {"outputs": job.outputs}
        return out
