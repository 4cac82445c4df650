"""google.cloud.aiplatform.v1.JobService: custom jobs run as local child processes.

There is no Docker here: the first worker pool's ``container_spec.command + args`` runs as
given (``image_uri`` is recorded, not pulled), with this process's environment, the spec's
``env`` and the Vertex training contract on top. A command starting with ``python``/``python3``
(the image's interpreter) runs with the interpreter of this service, which stands in for the
image (the ``PATH``'s ``python`` may be another installation, without the job's packages):

* ``AIP_MODEL_DIR`` = ``<base_output_directory>/model/``, ``AIP_CHECKPOINT_DIR`` =
  ``…/checkpoints/``, ``AIP_TENSORBOARD_LOG_DIR`` = ``…/logs/``;
* ``CLOUD_ML_JOB_ID``, ``CLOUD_ML_PROJECT_ID``, ``CLOUD_ML_REGION``.

``base_output_directory`` may be a local absolute path (or ``file://``): the directories are
created and handed over as paths. A ``gs://`` prefix is passed through unchanged, as on
Vertex, and the job writes it with the storage client; that needs ``STORAGE_EMULATOR_HOST``
(in this process or the spec's env), else the create fails with FAILED_PRECONDITION. Other
worker pools and replica counts are ignored (one process per job).

States go QUEUED → RUNNING → SUCCEEDED / FAILED (``error.message`` gives the exit status and
the tail of the log) / CANCELLED. Output goes to ``<data dir>/jobs/<id>/output.log``. A job
that was running when the service stopped is FAILED on the next start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import grpc
from google.cloud.aiplatform_v1 import types as t
from google.protobuf import empty_pb2

from localgcp.services.aiplatform.rpc import (
    TIME_AND_NAME_ORDER,
    check_parent,
    failed_precondition,
    handlers,
    invalid_argument,
    matches,
    now_pb,
    ordered,
    page,
    resource,
)
from localgcp.services.aiplatform.store import Store

JobPb: Any = t.CustomJob.pb()
S = t.JobState
ACTIVE = {S.JOB_STATE_QUEUED, S.JOB_STATE_PENDING, S.JOB_STATE_RUNNING, S.JOB_STATE_CANCELLING}
LOG_TAIL_LINES = 20
#: the image's interpreter, as a container command names it
IMAGE_PYTHONS = ("python", "python3")
ORDER_KEYS = TIME_AND_NAME_ORDER


def output_dirs(base: str, env: dict[str, str]) -> dict[str, str]:
    """The AIP_* directory variables for ``base`` (created when local)."""
    if not base:
        return {}
    if base.startswith("gs://"):
        if not (os.environ.get("STORAGE_EMULATOR_HOST") or env.get("STORAGE_EMULATOR_HOST")):
            raise failed_precondition(
                "base_output_directory is gs:// but STORAGE_EMULATOR_HOST is not set: the job could not "
                "write to the local Cloud Storage; start the storage service or use a local directory."
            )
        root = base.rstrip("/")
        return {k: f"{root}/{d}/" for k, d in _DIRS.items()}
    path = Path(base.removeprefix("file://"))
    if "://" in base.removeprefix("file://") or not path.is_absolute():
        raise invalid_argument(
            f"base_output_directory must be gs://… or an absolute local path, not {base!r}."
        )
    out = {}
    for key, sub in _DIRS.items():
        (path / sub).mkdir(parents=True, exist_ok=True)
        out[key] = f"{path / sub}/"
    return out


_DIRS = {"AIP_MODEL_DIR": "model", "AIP_CHECKPOINT_DIR": "checkpoints", "AIP_TENSORBOARD_LOG_DIR": "logs"}


class JobService:
    def __init__(self, store: Store, data_dir: Path) -> None:
        self.store = store
        self.root = data_dir / "jobs"
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------
    def recover(self) -> None:
        """Jobs left active by a previous run cannot be resumed: mark them FAILED (or CANCELLED)."""
        for job in self.store.all("custom_job", JobPb):
            if job.state in ACTIVE:
                if job.state == S.JOB_STATE_CANCELLING:
                    self._finish(job, S.JOB_STATE_CANCELLED, "")
                else:
                    self._finish(
                        job, S.JOB_STATE_FAILED, "The local Vertex AI service stopped while the job ran."
                    )

    def stop(self) -> None:
        with self._lock:  # a job starting now either is in _procs or sees _stopping
            self._stopping = True
            procs = list(self._procs.values())
        for proc in procs:
            proc.terminate()
        for thread in self._threads:
            thread.join(timeout=10)

    # -- RPCs ----------------------------------------------------------------------------------
    def create_custom_job(self, request: Any, context: grpc.ServicerContext) -> Any:
        parent = check_parent(request.parent)
        job = JobPb()
        job.CopyFrom(request.custom_job)
        if not job.display_name:
            raise invalid_argument("CustomJob.display_name is required.")
        pools = job.job_spec.worker_pool_specs
        if not pools or not pools[0].HasField("container_spec") or not pools[0].container_spec.command:
            raise invalid_argument(
                "localgcp runs the first worker pool's container_spec.command as a local process: "
                "give container_spec.command (python_package_spec and image entrypoints are not supported)."
            )
        spec = pools[0].container_spec
        env = {e.name: e.value for e in spec.env}
        job_id = str(self.store.next_id("custom_job"))
        dirs = output_dirs(job.job_spec.base_output_directory.output_uri_prefix, env)
        project, region = parent.split("/")[1], parent.split("/")[3]
        env.update(dirs)
        env.update({"CLOUD_ML_JOB_ID": job_id, "CLOUD_ML_PROJECT_ID": project, "CLOUD_ML_REGION": region})
        job.name = f"{parent}/customJobs/{job_id}"
        job.state = S.JOB_STATE_QUEUED
        job.create_time.CopyFrom(now_pb())
        job.update_time.CopyFrom(job.create_time)
        self.store.put("custom_job", job.name, job, parent=parent)
        argv = [*spec.command, *spec.args]
        if argv[0] in IMAGE_PYTHONS:
            argv[0] = sys.executable
        thread = threading.Thread(
            target=self._run, args=(job.name, argv, env), name=f"aip-job-{job_id}", daemon=True
        )
        self._threads.append(thread)
        thread.start()
        return job

    def running(self) -> dict[str, int]:
        """The pid of each running custom job's process, by job name."""
        with self._lock:
            return {name: proc.pid for name, proc in self._procs.items() if proc.poll() is None}

    def job(self, name: str) -> Any:
        resource(name, "customJobs")
        return self.store.require("custom_job", name, JobPb, "CustomJob")

    def get_custom_job(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.job(request.name)

    def list_custom_jobs(self, request: Any, context: grpc.ServicerContext) -> Any:
        found = [
            j
            for j in self.store.all("custom_job", JobPb, parent=check_parent(request.parent))
            if matches(request.filter, {"display_name": j.display_name, "state": S(j.state).name}, j.labels)
        ]
        chosen, token = page(ordered(found, "", ORDER_KEYS), request.page_size, request.page_token)
        return t.ListCustomJobsResponse.pb()(custom_jobs=chosen, next_page_token=token)

    def cancel_custom_job(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.store.lock:
            job = self.job(request.name)
            if job.state not in ACTIVE:
                raise failed_precondition(f"CustomJob {request.name} is already {S(job.state).name}.")
            job.state = S.JOB_STATE_CANCELLING
            self._save(job)
        with self._lock:
            proc = self._procs.get(request.name)
        if proc is not None:
            proc.terminate()
        return empty_pb2.Empty()

    # -- running -------------------------------------------------------------------------------
    def _save(self, job: Any) -> None:
        job.update_time.CopyFrom(now_pb())
        self.store.put("custom_job", job.name, job, parent=job.name.rsplit("/customJobs/", 1)[0])

    def _finish(self, job: Any, state: int, message: str) -> None:
        job.state = state
        job.end_time.CopyFrom(now_pb())
        if message:
            job.error.code = 3 if state == S.JOB_STATE_FAILED else 1
            job.error.message = message
        self._save(job)

    def _run(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        workdir = self.root / name.rsplit("/", 1)[1]
        workdir.mkdir(parents=True, exist_ok=True)
        log_path = workdir / "output.log"
        with self.store.lock:
            job = self.job(name)
            if job.state != S.JOB_STATE_QUEUED or self._stopping:
                if job.state == S.JOB_STATE_CANCELLING:
                    self._finish(job, S.JOB_STATE_CANCELLED, "")
                return
            try:
                with log_path.open("wb") as log:
                    proc = subprocess.Popen(
                        argv, cwd=workdir, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
                    )
            except OSError as exc:
                self._finish(job, S.JOB_STATE_FAILED, f"The replica workerpool0-0 could not start: {exc}")
                return
            with self._lock:
                self._procs[name] = proc
                if self._stopping:
                    proc.terminate()
            job.state = S.JOB_STATE_RUNNING
            job.start_time.CopyFrom(now_pb())
            self._save(job)
        code = proc.wait()
        with self._lock:
            self._procs.pop(name, None)
        with self.store.lock:
            job = self.job(name)
            if job.state == S.JOB_STATE_CANCELLING:
                self._finish(job, S.JOB_STATE_CANCELLED, "CustomJob was cancelled.")
            elif code == 0:
                self._finish(job, S.JOB_STATE_SUCCEEDED, "")
            else:
                reason = "stopped with the local Vertex AI service" if self._stopping else "exited"
                tail = log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
                self._finish(
                    job,
                    S.JOB_STATE_FAILED,
                    f"The replica workerpool0-0 {reason} with a non-zero status of {code}. "
                    f"Last log lines ({log_path}):\n" + "\n".join(tail),
                )

    def handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        return handlers(
            {
                "CreateCustomJob": (self.create_custom_job, t.CreateCustomJobRequest),
                "GetCustomJob": (self.get_custom_job, t.GetCustomJobRequest),
                "ListCustomJobs": (self.list_custom_jobs, t.ListCustomJobsRequest),
                "CancelCustomJob": (self.cancel_custom_job, t.CancelCustomJobRequest),
            },
            self.store.lock,
        )
