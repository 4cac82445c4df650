"""``googleapis.dataflow.v1b3.projects.locations.{jobs.list,flexTemplates.launch}`` for the local stack.

A launched job is remembered with its template parameters; the stack's streaming drains run
the Beam pipeline with exactly those parameters, so the streaming launcher workflow is the one
place that says how the job runs — in the cloud and here alike.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from localgcp.services.workflows import errors
from localgcp.services.workflows.googleapis.timestamps import rfc3339_now

PREFIX = "googleapis.dataflow.v1b3.projects.locations"


@dataclass
class LocalJob:
    id: str
    name: str
    project: str
    location: str
    parameters: dict[str, str]
    state: str = "JOB_STATE_RUNNING"
    create_time: str = field(default_factory=rfc3339_now)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "projectId": self.project,
            "location": self.location,
            "type": "JOB_TYPE_STREAMING",
            "currentState": self.state,
            "createTime": self.create_time,
        }


class LocalDataflow:
    def __init__(self) -> None:
        self._jobs: dict[str, LocalJob] = {}
        self._lock = threading.Lock()

    def active_job(self, name: str) -> LocalJob | None:
        with self._lock:
            return next(
                (j for j in self._jobs.values() if j.name == name and j.state == "JOB_STATE_RUNNING"), None
            )

    def list_jobs(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = str(args.get("filter", "ALL")).upper()
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.location == args.get("location", j.location)]
        if wanted == "ACTIVE":
            jobs = [j for j in jobs if j.state == "JOB_STATE_RUNNING"]
        elif wanted == "TERMINATED":
            jobs = [j for j in jobs if j.state != "JOB_STATE_RUNNING"]
        return {"jobs": [j.describe() for j in jobs]}

    def launch(self, args: dict[str, Any]) -> dict[str, Any]:
        launch = (args.get("body") or {}).get("launchParameter") or {}
        name = launch.get("jobName")
        if not name:
            raise errors.make("HttpError", "launchParameter.jobName is required", code=400)
        if self.active_job(name) is not None:
            raise errors.make("HttpError", f"a running job named {name} already exists", code=409)
        params = {str(k): str(v) for k, v in (launch.get("parameters") or {}).items()}
        job = LocalJob(
            uuid.uuid4().hex[:16], name, str(args.get("projectId")), str(args.get("location")), params
        )
        with self._lock:
            self._jobs[job.id] = job
        return {"job": job.describe()}
