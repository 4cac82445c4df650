"""google.cloud.aiplatform.v1.PipelineService: pipeline jobs run with kfp.local in child processes.

What a job runs: the compiled KFP pipeline (PipelineSpec) of ``pipeline_job.pipeline_spec``, which
is what ``aiplatform.PipelineJob(template_path=…)`` sends (the SDK reads a local or ``gs://``
template itself and sets ``template_uri`` only for Artifact Registry / https templates), or else
the template at ``pipeline_job.template_uri`` (what the REST API and the Workflows connector
send): an absolute local path, ``file://…``, or ``gs://…`` read with google-cloud-storage from
the local Cloud Storage (``STORAGE_EMULATOR_HOST`` must be set in this process, else
FAILED_PRECONDITION). A template document that is a whole PipelineJob (``pipelineSpec`` inside)
is accepted too. Artifact Registry (``https://``) templates are not served.

Parameters come from ``runtime_config.parameter_values`` (or the older ``parameters``) and are
checked against the spec's ``root.inputDefinitions.parameters``: unknown names and values of the
wrong type are INVALID_ARGUMENT at create, as on Vertex; numbers, which protobuf ``Value`` carries
as doubles, become ``int`` for NUMBER_INTEGER parameters; a required parameter without a value is
INVALID_ARGUMENT.

Where artifacts go: kfp.local needs a local folder. ``runtime_config.gcs_output_directory`` that
is an absolute path (or ``file://``) gets a ``<job id>/`` folder under it; a ``gs://`` one (what
the cloud needs, and what terraform's ``pipeline_root`` is) is recorded on the job as given, but
the run writes under the ``root`` folder of ``<data dir>/pipelines/<job id>`` here, not to the bucket. Either way
kfp.local adds ``<pipeline name>-<timestamp>/<task>/``.

How it runs: ``python -m localgcp.services.aiplatform.pipeline_runner`` (:mod:`.pipeline_runner`)
with this service's interpreter and the environment of this process (so the tasks find the same
emulators: ``AIPLATFORM_EMULATOR_HOST``, ``STORAGE_EMULATOR_HOST``, … as exported when the job
starts), the folder holding the ``localgcp`` package first on ``PYTHONPATH`` (in a source checkout
that is the repository root, whose other packages the tasks then import as well), in a process
group of its own; output in ``<data dir>/pipelines/<job id>/output.log``. At most ``max_running``
jobs run at once (default 1: a small machine, and pipelines that write one local warehouse); the
others wait in PIPELINE_STATE_QUEUED, first come first served.

States: QUEUED → RUNNING → SUCCEEDED, or FAILED (``error.message`` names the failed tasks and gives
the log's last lines), or CANCELLING → CANCELLED (the process group is terminated, then killed if
it lingers). A job that was queued or running when the service stopped is FAILED on the next
start. ``job_detail.task_details`` holds, once a job ends, one entry for the pipeline itself (its
``execution.metadata``: ``input:<parameter>`` and ``output:<output>``, as Vertex records them) and
one per task of the root DAG (state, ``output:<name>`` of its parameter outputs and artifact URIs).
DeletePipelineJob removes the record of an ended job (an operation returned done), not its files.

Not served: BatchCancel/BatchDeletePipelineJobs, training pipelines, schedules, caching,
``input_artifacts``, ``failure_policy`` (kfp.local stops at the first failed task), contexts and
artifacts in a metadata store, per-task resource requests (every task runs here as is).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any

import grpc
import yaml
from google.cloud.aiplatform_v1 import types as t
from google.protobuf import empty_pb2, json_format

import localgcp
from localgcp.services.aiplatform.rpc import (
    TIME_AND_NAME_ORDER,
    AipError,
    Operations,
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

PipelineJobPb: Any = t.PipelineJob.pb()
TaskPb: Any = t.PipelineTaskDetail.pb()
S = t.PipelineState
TS = t.PipelineTaskDetail.State
ACTIVE = {
    S.PIPELINE_STATE_QUEUED,
    S.PIPELINE_STATE_PENDING,
    S.PIPELINE_STATE_RUNNING,
    S.PIPELINE_STATE_CANCELLING,
    S.PIPELINE_STATE_PAUSED,
}
KIND = "pipeline_job"
RUNNER = "localgcp.services.aiplatform.pipeline_runner"
LOG_TAIL_LINES = 20
#: after SIGTERM, how long a cancelled (or stopped) pipeline's processes get before SIGKILL
KILL_GRACE_S = 5.0
#: google.rpc codes of a failed and of a cancelled job's ``error``
FAILED_CODE, CANCELLED_CODE = 9, 1
_JOB_ID = re.compile(r"^[a-z][-a-z0-9]{0,127}$")
ORDER_KEYS = {
    **TIME_AND_NAME_ORDER,
    "start_time": lambda r: r.start_time.ToNanoseconds(),
    "end_time": lambda r: r.end_time.ToNanoseconds(),
}
#: the runner's result states (:mod:`.pipeline_runner`, which is run, never imported, here: ``-m``
#: warns about a module its package imported already)
SUCCEEDED = "SUCCEEDED"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TASK_STATES = {"SUCCEEDED": TS.SUCCEEDED, "FAILED": TS.FAILED, "NOT_TRIGGERED": TS.NOT_TRIGGERED}


def already_exists(message: str) -> AipError:
    return AipError(grpc.StatusCode.ALREADY_EXISTS, message)


# -- templates and parameters ---------------------------------------------------------------------
def read_template(uri: str, project: str) -> dict[str, Any]:
    """The PipelineSpec at ``uri`` (absolute path, ``file://`` or ``gs://``)."""
    if uri.startswith("gs://"):
        text = _read_gcs(uri, project)
    elif uri.startswith(("https://", "http://")):
        raise invalid_argument(
            f"template_uri {uri!r}: Artifact Registry templates are not served by localgcp; give a "
            "gs://, file:// or absolute local path, or the pipeline_spec itself."
        )
    else:
        path = Path(uri.removeprefix("file://"))
        if "://" in uri.removeprefix("file://") or not path.is_absolute():
            raise invalid_argument(f"template_uri must be gs://…, file://… or an absolute path, not {uri!r}.")
        try:
            text = path.read_text()
        except OSError as exc:
            raise invalid_argument(f"Cannot read template_uri {uri}: {exc}.") from exc
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise invalid_argument(f"template_uri {uri} is not YAML or JSON: {exc}") from exc
    doc = documents[0] if documents else None
    if isinstance(doc, dict) and isinstance(doc.get("pipelineSpec"), dict):
        doc = doc["pipelineSpec"]  # a whole PipelineJob, as the SDK also accepts
    if not isinstance(doc, dict):
        raise invalid_argument(f"template_uri {uri} holds no pipeline spec.")
    return doc


def _read_gcs(uri: str, project: str) -> str:
    if not os.environ.get("STORAGE_EMULATOR_HOST"):
        raise failed_precondition(
            f"template_uri {uri} is gs:// but STORAGE_EMULATOR_HOST is not set: the local Vertex AI "
            "reads templates from the local Cloud Storage; start the storage service (and export its "
            "address) or give a local path."
        )
    from google.api_core import exceptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage  # type: ignore[attr-defined]

    bucket, _, blob = uri.removeprefix("gs://").partition("/")
    client = storage.Client(project=project, credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    try:
        return str(client.bucket(bucket).blob(blob).download_as_text(timeout=30))
    except exceptions.NotFound as exc:
        raise invalid_argument(f"template_uri {uri} does not exist.") from exc
    except exceptions.GoogleAPIError as exc:
        raise failed_precondition(f"Cannot read template_uri {uri}: {exc}") from exc


def check_spec(spec: dict[str, Any]) -> str:
    """The pipeline's name; INVALID_ARGUMENT if ``spec`` is not a compiled KFP pipeline."""
    name = (spec.get("pipelineInfo") or {}).get("name")
    if not name or not isinstance((spec.get("root") or {}).get("dag"), dict):
        raise invalid_argument(
            "The pipeline spec is not a compiled KFP pipeline (it needs pipelineInfo.name and root.dag)."
        )
    return str(name)


def _old_value(value: Any) -> Any:
    """A value of the deprecated ``runtime_config.parameters`` (aiplatform.v1.Value)."""
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _coerce(name: str, value: Any, kind: str) -> Any:
    def wrong() -> AipError:
        return invalid_argument(
            f"The value {value!r} of pipeline parameter {name!r} does not match its type {kind}."
        )

    if kind == "NUMBER_INTEGER":
        if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
            raise wrong()
        return int(value)
    if kind == "NUMBER_DOUBLE":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong()
        return float(value)
    expected = {"BOOLEAN": bool, "STRING": str, "STRUCT": dict, "LIST": list}.get(kind)
    if expected is not None and not isinstance(value, expected):
        raise wrong()
    return value


def parameters(spec: dict[str, Any], config: Any) -> dict[str, Any]:
    """The runtime config's parameter values as Python values of their declared types."""
    declared: dict[str, Any] = (spec.get("root", {}).get("inputDefinitions") or {}).get("parameters") or {}
    values = {k: json_format.MessageToDict(v) for k, v in config.parameter_values.items()}
    for key, old in config.parameters.items():
        values.setdefault(key, _old_value(old))
    out = {}
    for key, value in values.items():
        if key not in declared:
            raise invalid_argument(
                f"The pipeline parameter {key!r} is not found in the pipeline job input definitions "
                f"(known: {', '.join(sorted(declared)) or 'none'})."
            )
        out[key] = _coerce(key, value, str(declared[key].get("parameterType", "")))
    missing = [
        k for k, d in declared.items() if k not in out and "defaultValue" not in d and not d.get("isOptional")
    ]
    if missing:
        raise invalid_argument(f"The pipeline parameters {missing} are required and have no value.")
    return out


# -- the service ------------------------------------------------------------------------------------
class PipelineService:
    def __init__(self, store: Store, ops: Operations, data_dir: Path, max_running: int = 1) -> None:
        if max_running < 1:
            raise ValueError(f"max_running must be at least 1, not {max_running}")
        self.store = store
        self.ops = ops
        self.root = data_dir / "pipelines"
        self.max_running = max_running
        self._queue: deque[str] = deque()
        self._running: set[str] = set()
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()  # after store.lock when both are held
        self._stopping = False

    # -- lifecycle -----------------------------------------------------------------------------
    def recover(self) -> None:
        """Jobs left queued or running by a previous run cannot be resumed: FAILED (or CANCELLED)."""
        for job in self.store.all(KIND, PipelineJobPb):
            if job.state == S.PIPELINE_STATE_CANCELLING:
                self._finish(job, S.PIPELINE_STATE_CANCELLED, "The pipeline job was cancelled.")
            elif job.state in ACTIVE:
                when = "before it ran" if job.state == S.PIPELINE_STATE_QUEUED else "while it ran"
                self._finish(
                    job,
                    S.PIPELINE_STATE_FAILED,
                    f"The local Vertex AI service stopped {when}; start the pipeline job again.",
                )

    def stop(self) -> None:
        """Stop dispatching, end the running pipelines (FAILED); queued jobs fail on the next start."""
        with self._lock:
            self._stopping = True
            procs = list(self._procs.values())
            threads = list(self._threads)
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
        for thread in threads:
            thread.join(timeout=KILL_GRACE_S)
        for proc in procs:
            _signal_group(proc, signal.SIGKILL)
        for thread in threads:
            thread.join(timeout=KILL_GRACE_S)

    # -- RPCs ------------------------------------------------------------------------------------
    def create_pipeline_job(self, request: Any, context: grpc.ServicerContext) -> Any:
        parent = check_parent(request.parent)
        project = parent.split("/")[1]
        job = PipelineJobPb()
        job.CopyFrom(request.pipeline_job)
        if request.pipeline_job_id and not _JOB_ID.match(request.pipeline_job_id):
            raise invalid_argument(
                f"Invalid pipeline_job_id {request.pipeline_job_id!r}: it must match [a-z][-a-z0-9]{{0,127}}."
            )
        if job.pipeline_spec.fields:
            spec = json_format.MessageToDict(job.pipeline_spec)
        elif job.template_uri:
            spec = read_template(job.template_uri, project)  # no lock held while reading
            job.pipeline_spec.update(spec)
        else:
            raise invalid_argument("A PipelineJob needs pipeline_spec or template_uri.")
        pipeline_name = check_spec(spec)
        parameters(spec, job.runtime_config)  # INVALID_ARGUMENT now rather than a failed run
        self._pipeline_root(job.runtime_config.gcs_output_directory, "id")  # INVALID_ARGUMENT now too
        with self.store.lock:
            job_id = request.pipeline_job_id or str(self.store.next_id(KIND))
            job.name = f"{parent}/pipelineJobs/{job_id}"
            if self.store.get(KIND, job.name, PipelineJobPb) is not None:
                raise already_exists(f"PipelineJob {job.name} already exists.")
            job.display_name = job.display_name or pipeline_name
            job.state = S.PIPELINE_STATE_QUEUED
            job.create_time.CopyFrom(now_pb())
            job.update_time.CopyFrom(job.create_time)
            self.store.put(KIND, job.name, job, parent=parent)
            with self._lock:
                self._queue.append(job.name)
        self._dispatch()
        return job

    def running(self) -> dict[str, int]:
        """The pid of each running job's runner process (the leader of its tasks' group), by job name."""
        with self._lock:
            return {name: proc.pid for name, proc in self._procs.items() if proc.poll() is None}

    def job(self, name: str) -> Any:
        resource(name, "pipelineJobs")
        return self.store.require(KIND, name, PipelineJobPb, "PipelineJob")

    def get_pipeline_job(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.job(request.name)

    def list_pipeline_jobs(self, request: Any, context: grpc.ServicerContext) -> Any:
        found = [
            j
            for j in self.store.all(KIND, PipelineJobPb, parent=check_parent(request.parent))
            if matches(
                request.filter,
                {
                    "display_name": j.display_name,
                    "state": S(j.state).name,
                    "pipeline_name": str(j.pipeline_spec.fields["pipelineInfo"].struct_value["name"])
                    if "pipelineInfo" in j.pipeline_spec.fields
                    else "",
                    "template_uri": j.template_uri,
                },
                j.labels,
            )
        ]
        chosen, token = page(
            ordered(found, request.order_by, ORDER_KEYS), request.page_size, request.page_token
        )
        return t.ListPipelineJobsResponse.pb()(pipeline_jobs=chosen, next_page_token=token)

    def cancel_pipeline_job(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.store.lock:
            job = self.job(request.name)
            if job.state not in ACTIVE:
                raise failed_precondition(f"PipelineJob {request.name} is already {S(job.state).name}.")
            with self._lock:
                queued = request.name in self._queue
                if queued:
                    self._queue.remove(request.name)
                proc = self._procs.get(request.name)
            if queued:
                self._finish(job, S.PIPELINE_STATE_CANCELLED, "The pipeline job was cancelled.")
                return empty_pb2.Empty()
            job.state = S.PIPELINE_STATE_CANCELLING
            self._save(job)
        if proc is not None:
            _signal_group(proc, signal.SIGTERM)
            killer = threading.Timer(KILL_GRACE_S, _signal_group, (proc, signal.SIGKILL))
            killer.daemon = True
            killer.start()
        return empty_pb2.Empty()

    def delete_pipeline_job(self, request: Any, context: grpc.ServicerContext) -> Any:
        job = self.job(request.name)
        if job.state in ACTIVE:
            raise failed_precondition(
                f"PipelineJob {request.name} is {S(job.state).name}: cancel it and wait for it to end first."
            )
        self.store.delete(KIND, job.name)
        return self.ops.done(job.name, empty_pb2.Empty(), t.DeleteOperationMetadata.pb()())

    def handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        return {
            # create reads a gs:// template without holding the store's lock; it takes it to write
            **handlers({"CreatePipelineJob": (self.create_pipeline_job, t.CreatePipelineJobRequest)}),
            **handlers(
                {
                    "GetPipelineJob": (self.get_pipeline_job, t.GetPipelineJobRequest),
                    "ListPipelineJobs": (self.list_pipeline_jobs, t.ListPipelineJobsRequest),
                    "CancelPipelineJob": (self.cancel_pipeline_job, t.CancelPipelineJobRequest),
                    "DeletePipelineJob": (self.delete_pipeline_job, t.DeletePipelineJobRequest),
                },
                self.store.lock,
            ),
        }

    # -- running ---------------------------------------------------------------------------------
    def workdir(self, name: str) -> Path:
        """``<data dir>/pipelines/<job id>/``: the job's spec, parameters, result and ``output.log``."""
        return self.root / name.rsplit("/", 1)[1]

    def _pipeline_root(self, output_directory: str, job_id: str) -> Path:
        if not output_directory or output_directory.startswith("gs://"):
            return self.root / job_id / "root"
        path = Path(output_directory.removeprefix("file://"))
        if "://" in output_directory.removeprefix("file://") or not path.is_absolute():
            raise invalid_argument(
                "runtime_config.gcs_output_directory must be gs://… or an absolute local path, "
                f"not {output_directory!r}."
            )
        return path / job_id

    def _dispatch(self) -> None:
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            while not self._stopping and self._queue and len(self._running) < self.max_running:
                name = self._queue.popleft()
                self._running.add(name)
                thread = threading.Thread(
                    target=self._run, args=(name,), name=f"aip-pipeline-{name.rsplit('/', 1)[1]}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def _run(self, name: str) -> None:
        try:
            self._execute(name)
        except sqlite3.ProgrammingError:
            pass  # the store was closed under us: the service stopped
        finally:
            with self._lock:
                self._running.discard(name)
            self._dispatch()

    def _execute(self, name: str) -> None:
        workdir = self.workdir(name)
        workdir.mkdir(parents=True, exist_ok=True)
        log_path, result_path = workdir / "output.log", workdir / "result.json"
        result_path.unlink(missing_ok=True)
        with self.store.lock:
            job = self.job(name)
            if job.state == S.PIPELINE_STATE_CANCELLING:  # cancelled on its way out of the queue
                self._finish(job, S.PIPELINE_STATE_CANCELLED, "The pipeline job was cancelled.")
                return
            if job.state != S.PIPELINE_STATE_QUEUED or self._stopping:
                return  # the service is stopping: FAILED on the next start
            spec = json_format.MessageToDict(job.pipeline_spec)
            (workdir / "spec.json").write_text(json.dumps(spec))
            (workdir / "parameters.json").write_text(json.dumps(parameters(spec, job.runtime_config)))
            root = self._pipeline_root(job.runtime_config.gcs_output_directory, workdir.name)
            argv = [
                sys.executable,
                "-m",
                RUNNER,
                f"--spec={workdir / 'spec.json'}",
                f"--parameters={workdir / 'parameters.json'}",
                f"--pipeline-root={root}",
                f"--result={result_path}",
                f"--parent-pid={os.getpid()}",
            ]
            try:
                with log_path.open("wb") as log:
                    proc = subprocess.Popen(
                        argv,
                        cwd=workdir,
                        env=child_env(),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                    )
            except OSError as exc:
                self._finish(job, S.PIPELINE_STATE_FAILED, f"The pipeline runner could not start: {exc}")
                return
            with self._lock:
                self._procs[name] = proc
            job.state = S.PIPELINE_STATE_RUNNING
            job.start_time.CopyFrom(now_pb())
            self._save(job)
        code = proc.wait()
        with self._lock:
            self._procs.pop(name, None)
        result = _read_result(result_path)
        with self.store.lock:
            job = self.job(name)
            if job.state == S.PIPELINE_STATE_CANCELLING:
                self._finish(job, S.PIPELINE_STATE_CANCELLED, "The pipeline job was cancelled.")
                return
            params = json.loads((workdir / "parameters.json").read_text())
            if result is not None:
                self._record_tasks(job, params, result)
            if code == 0 and result is not None and result.get("state") == SUCCEEDED:
                self._finish(job, S.PIPELINE_STATE_SUCCEEDED, "")
                return
            if result is not None and result.get("error"):
                reason = str(result["error"])
            elif self._stopping:
                reason = "The pipeline was stopped with the local Vertex AI service."
            else:
                reason = f"The pipeline runner exited with status {code} before reporting a result."
            self._finish(
                job,
                S.PIPELINE_STATE_FAILED,
                f"{reason} Last log lines ({log_path}):\n" + "\n".join(_tail(log_path)),
            )

    def _record_tasks(self, job: Any, params: dict[str, Any], result: dict[str, Any]) -> None:
        """``job_detail.task_details``: the pipeline, then each task of its root DAG."""
        now = now_pb()
        name = str(job.pipeline_spec.fields["pipelineInfo"].struct_value["name"])
        pipeline = job.job_detail.task_details.add(task_id=1, task_name=name)
        pipeline.state = TS.SUCCEEDED if result.get("state") == SUCCEEDED else TS.FAILED
        pipeline.start_time.CopyFrom(job.start_time)
        pipeline.end_time.CopyFrom(now)
        pipeline.execution.display_name = pipeline.task_name
        pipeline.execution.metadata.update(
            {f"input:{k}": v for k, v in params.items()}
            | {f"output:{k}": v for k, v in (result.get("outputs") or {}).items()}
        )
        for number, task in enumerate(result.get("tasks") or [], start=2):
            detail = job.job_detail.task_details.add(task_id=number, parent_task_id=1, task_name=task["name"])
            detail.state = _TASK_STATES.get(task.get("state", ""), TS.STATE_UNSPECIFIED)
            detail.execution.display_name = task["name"]
            detail.execution.metadata.update(
                {f"output:{k}": v for k, v in (task.get("outputs") or {}).items()}
            )
            if detail.state == TS.FAILED:
                detail.error.code = FAILED_CODE
                detail.error.message = f"The task {task['name']} failed; see the pipeline job's log."

    def _save(self, job: Any) -> None:
        job.update_time.CopyFrom(now_pb())
        self.store.put(KIND, job.name, job, parent=job.name.rsplit("/pipelineJobs/", 1)[0])

    def _finish(self, job: Any, state: int, message: str) -> None:
        job.state = state
        job.end_time.CopyFrom(now_pb())
        if message:
            job.error.code = CANCELLED_CODE if state == S.PIPELINE_STATE_CANCELLED else FAILED_CODE
            job.error.message = message
        self._save(job)


def child_env() -> dict[str, str]:
    """This process's environment, with the folder holding ``localgcp`` first on PYTHONPATH."""
    env = dict(os.environ)
    home = str(Path(localgcp.__file__).resolve().parent.parent)
    path = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if home not in path:
        env["PYTHONPATH"] = os.pathsep.join([home, *path])
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the runner's process group (the runner and its task processes). SIGKILL only while
    the runner lives: once it is reaped and its group empty, its id may belong to another group."""
    if sig == signal.SIGKILL and proc.poll() is not None:
        return
    # the group outlives its leader while one of its tasks lives: its id stays the runner's pid
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _read_result(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _tail(log_path: Path) -> list[str]:
    try:
        lines = _ANSI.sub("", log_path.read_text(errors="replace")).splitlines()
    except OSError:
        return []
    return [line for line in lines if line.strip()][-LOG_TAIL_LINES:]
