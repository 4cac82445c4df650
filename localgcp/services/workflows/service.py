"""The local Workflows service: workflows from ``<workflows_dir>/<id>.yaml``, executions run in a
thread pool and recorded in SQLite, served over gRPC as
``google.cloud.workflows.executions.v1.Executions`` (see ``grpc_api``), with the executions'
callback endpoints on an HTTP port of 127.0.0.1 (see ``callbacks``)."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import grpc

from localgcp.services.base import ServiceContext
from localgcp.services.workflows import errors
from localgcp.services.workflows.callbacks import CallbackHub
from localgcp.services.workflows.connectors import ConnectorRegistry
from localgcp.services.workflows.errors import WorkflowNotFound
from localgcp.services.workflows.grpc_api import executions_handler
from localgcp.services.workflows.lang.parser import Workflow, parse_workflow
from localgcp.services.workflows.lang.runtime import Execution, Limits, project_number
from localgcp.services.workflows.signals import Cancelled
from localgcp.services.workflows.store import ExecutionStore, store_path

__all__ = ["WorkflowNotFound", "WorkflowsService", "error_record"]
log = logging.getLogger("localgcp.services.workflows")
CALLBACK_HOST = "127.0.0.1"
_WAIT_SLICE_S = 0.05


def error_record(err: BaseException) -> dict[str, Any]:
    """What an Execution's ``error`` holds: the JSON payload, a readable context and the steps."""
    if isinstance(err, errors.WorkflowError):
        payload, trace = err.payload, err.trace
    else:
        payload, trace = {"message": f"internal error: {err}", "tags": ["SystemError"]}, []
    where = "".join(f'\nin step "{step}", routine "{routine}"' for routine, step in trace)
    return {
        "payload": json.dumps(payload, default=str),
        "context": f"{errors.describe(payload)}{where}",
        "stack": [[routine, step] for routine, step in trace],
    }


class WorkflowsService:
    name = "workflows"

    def __init__(
        self,
        ctx: ServiceContext,
        workflows_dir: str | Path,
        connectors: ConnectorRegistry | None = None,
        env: dict[str, str] | None = None,
        *,
        location: str | None = None,
        limits: Limits | None = None,
        time_scale: float | None = None,
        max_workers: int = 4,
        callback_port: int = 0,
    ) -> None:
        self.ctx = ctx
        self.workflows_dir = Path(workflows_dir)
        self.connectors = connectors or ConnectorRegistry()
        self.env = dict(env or {})
        self.location = location or ctx.region
        self.limits = limits or Limits()
        #: virtual seconds per wall second in ``sys.sleep`` and polling waits (1 = real time)
        self.time_scale = time_scale if time_scale is not None else 1.0
        self.max_workers = max_workers
        self.store: ExecutionStore | None = None
        self._server: grpc.Server | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._address = ""
        self._running: dict[str, Execution] = {}
        self._cancels: dict[str, threading.Event] = {}
        self._done: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.callbacks = CallbackHub(CALLBACK_HOST, callback_port)

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._server is not None:
            return
        self.callbacks.start()
        self.store = ExecutionStore(store_path(Path(self.ctx.data_dir)))
        interrupted = self.store.fail_interrupted()
        if interrupted:
            log.warning("marked %d executions interrupted by the last shutdown as FAILED", interrupted)
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="wf-exec")
        self._server = grpc.server(ThreadPoolExecutor(max_workers=8, thread_name_prefix="wf-grpc"))
        self._server.add_generic_rpc_handlers((executions_handler(self),))
        port = self._server.add_insecure_port(f"{self.ctx.host}:{self.ctx.port}")
        if port == 0:
            raise RuntimeError(f"workflows: cannot bind {self.ctx.host}:{self.ctx.port}")
        self._server.start()
        self._address = f"{self.ctx.host}:{port}"

    def stop(self) -> None:
        if self._server is None:
            return
        with self._lock:
            for event in self._cancels.values():
                event.set()
        self._server.stop(grace=1).wait()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self.store is not None:
            self.store.close()
        self.callbacks.stop()
        self._server = self._pool = self.store = None

    @property
    def address(self) -> str:
        return self._address

    # --- workflows ----------------------------------------------------------------------------
    def workflow_parent(self, workflow_id: str) -> str:
        return f"projects/{self.ctx.project}/locations/{self.location}/workflows/{workflow_id}"

    def load(self, workflow_id: str) -> tuple[Workflow, str]:
        """The parsed workflow and its revision id (a content hash, as a redeploy changes it)."""
        for suffix in (".yaml", ".yml", ".json"):
            path = self.workflows_dir / f"{workflow_id}{suffix}"
            if path.is_file():
                source = path.read_text()
                revision = "000001-" + hashlib.sha256(source.encode()).hexdigest()[:3]
                return parse_workflow(source, self.connectors), revision
        raise WorkflowNotFound(workflow_id)

    # --- executions ---------------------------------------------------------------------------
    def create_execution(self, workflow_id: str, argument: str | None, *, own_thread: bool = False) -> str:
        """Start an execution; ``argument`` is the JSON text the API carries. Returns its name.
        ``own_thread`` runs it outside the pool (a child another execution waits for, which must
        not wait for a pool worker its parent may hold)."""
        assert self.store is not None and self._pool is not None, "service not started"
        workflow, revision = self.load(workflow_id)
        value = json.loads(argument) if argument else None
        execution_id = str(uuid.uuid4())
        name = f"{self.workflow_parent(workflow_id)}/executions/{execution_id}"
        cancel = threading.Event()
        env = {
            **self.env,
            "GOOGLE_CLOUD_PROJECT_ID": self.ctx.project,
            "GOOGLE_CLOUD_PROJECT_NUMBER": project_number(self.ctx.project, self.ctx.project_number),
            "GOOGLE_CLOUD_LOCATION": self.location,
            "GOOGLE_CLOUD_WORKFLOW_ID": workflow_id,
            "GOOGLE_CLOUD_WORKFLOW_REVISION_ID": revision,
            "GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID": execution_id,
        }
        execution = Execution(
            workflow,
            env,
            self.connectors,
            self.limits,
            self.time_scale,
            cancel_event=cancel,
            callbacks=self.callbacks,
            workflow_runner=self.run_child,
        )
        self.store.insert(name, workflow_id, revision, argument)
        with self._lock:
            self._running[name] = execution
            self._cancels[name] = cancel
            self._done[name] = threading.Event()
        if own_thread:
            threading.Thread(
                target=self._run, args=(name, execution, value), name="wf-child", daemon=True
            ).start()
        else:
            self._pool.submit(self._run, name, execution, value)
        return name

    def run_child(
        self,
        workflow_id: str,
        argument: Any,
        timeout: float,
        project: str | None,
        location: str | None,
        cancel: threading.Event,
    ) -> Any:
        """Run ``workflow_id`` to its end for ``experimental.executions.*``: its result, or
        ExecutionError when it fails, TimeoutError after ``timeout`` workflow seconds."""
        parent = self.workflow_parent(workflow_id)
        wanted = f"projects/{project or self.ctx.project}/locations/{location or self.location}"
        if not parent.startswith(wanted + "/"):
            raise errors.http_error(404, {"error": {"code": 404, "message": f"{wanted} is not served here"}})
        try:
            name = self.create_execution(workflow_id, json.dumps(argument), own_thread=True)
        except WorkflowNotFound:
            raise errors.http_error(
                404, {"error": {"code": 404, "message": f"workflow {parent} not found"}}
            ) from None
        except errors.DefinitionError as exc:
            raise errors.http_error(
                400, {"error": {"code": 400, "message": f"workflow {parent}: {exc}"}}
            ) from None
        with self._lock:
            done = self._done.get(name)  # None: it has already finished
        deadline = time.monotonic() + (timeout * self.time_scale if self.time_scale > 0 else timeout)
        while done is not None and not done.wait(_WAIT_SLICE_S):
            if cancel.is_set():
                self.cancel_execution(name)
                raise Cancelled()
            if time.monotonic() > deadline:
                self.cancel_execution(name)
                raise errors.make("TimeoutError", f"execution {name} did not finish within {timeout:g}s")
        assert self.store is not None
        record = self.store.get(name) or {}
        if record.get("state") == "SUCCEEDED":
            return json.loads(record["result"]) if record.get("result") is not None else None
        failure = record.get("error") or {}
        raise errors.make(
            "ExecutionError",
            f"execution {name} ended {record.get('state', 'UNKNOWN')}: {failure.get('context', '')}".rstrip(
                ": "
            ),
            execution=name,
            state=record.get("state"),
            error=json.loads(failure["payload"]) if failure.get("payload") else None,
        )

    def _run(self, name: str, execution: Execution, argument: Any) -> None:
        assert self.store is not None
        state, result, error = "SUCCEEDED", None, None
        try:
            value = execution.run(argument)
            result = json.dumps(value, default=_not_json)
        except Cancelled:
            state = "CANCELLED"
        except Exception as exc:  # every failure is recorded on the execution, none escapes
            if not isinstance(exc, errors.WorkflowError):
                log.exception("workflow execution %s crashed", name)
            state, error = "FAILED", error_record(exc)
        stats = {k: {"count": int(v[0]), "seconds": round(v[1], 6)} for k, v in execution.step_stats.items()}
        self.store.finish(
            name,
            state,
            result=result,
            error=error,
            steps_executed=execution.steps_executed,
            step_stats=stats,
            logs=execution.logs,
        )
        with self._lock:
            self._running.pop(name, None)
            self._cancels.pop(name, None)
            done = self._done.pop(name, None)
        if done is not None:
            done.set()

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until no execution is running (the replay driver's "day settled"); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._lock:
                if not self._running:
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def cancel_execution(self, name: str) -> bool:
        """Ask a running execution to stop; False when it is not running."""
        with self._lock:
            event = self._cancels.get(name)
        if event is None:
            return False
        event.set()
        return True

    def current_steps(self, name: str) -> list[tuple[str, str]]:
        with self._lock:
            execution = self._running.get(name)
        return list(execution.current.values()) if execution else []

    def execution_log(self, name: str) -> list[dict[str, Any]]:
        """The ``sys.log`` entries of an execution (Cloud Logging's part of the real service)."""
        assert self.store is not None
        record = self.store.get(name)
        return list(record["logs"] or []) if record else []


def _not_json(value: Any) -> Any:
    raise errors.type_error(f"the workflow result cannot be JSON-encoded: {type(value).__name__}")
