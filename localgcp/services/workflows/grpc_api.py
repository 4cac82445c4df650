"""``google.cloud.workflows.executions.v1.Executions`` over gRPC, with the official proto-plus
types doing the (de)serialisation so the unmodified ``ExecutionsClient`` talks to it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import grpc
from google.cloud.workflows.executions_v1.types import executions as types

from localgcp.services.workflows.errors import WorkflowNotFound
from localgcp.services.workflows.store import ExecutionStore


class WorkflowsService(Protocol):
    """What the API needs of the service (``service.WorkflowsService``)."""

    store: ExecutionStore | None

    def create_execution(self, workflow_id: str, argument: str | None) -> str: ...

    def current_steps(self, name: str) -> list[tuple[str, str]]: ...

    def cancel_execution(self, name: str) -> bool: ...


SERVICE_NAME = "google.cloud.workflows.executions.v1.Executions"
_PARENT = re.compile(r"^projects/([^/]+)/locations/([^/]+)/workflows/([^/]+)$")
_EXECUTION = re.compile(r"^(projects/[^/]+/locations/[^/]+/workflows/[^/]+)/executions/[^/]+$")
_STATE_FILTER = re.compile(r'^\s*state\s*=\s*"?([A-Z]+)"?\s*$')


def _time(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds is not None else None


def to_proto(record: dict[str, Any], view: int, current: list[tuple[str, str]]) -> types.Execution:
    execution = types.Execution(
        name=record["name"],
        state=getattr(types.Execution.State, record["state"]),
        workflow_revision_id=record["revision"],
        start_time=_time(record["start_time"]),
    )
    if record["end_time"] is not None:
        execution.end_time = _time(record["end_time"])
        execution.duration = timedelta(seconds=record["end_time"] - record["start_time"])
    if current:
        execution.status = types.Execution.Status(
            current_steps=[types.Execution.Status.Step(routine=r, step=s) for r, s in current]
        )
    if view == types.ExecutionView.BASIC:
        return execution
    if record["argument"]:
        execution.argument = record["argument"]
    if record["result"] is not None:
        execution.result = record["result"]
    if record["error"]:
        error = record["error"]
        execution.error = types.Execution.Error(
            payload=error["payload"],
            context=error["context"],
            stack_trace=types.Execution.StackTrace(
                elements=[types.Execution.StackTraceElement(routine=r, step=s) for r, s in error["stack"]]
            ),
        )
    return execution


class ExecutionsServicer:
    def __init__(self, service: WorkflowsService) -> None:
        self.service = service

    def _record(self, name: str, context: grpc.ServicerContext) -> dict[str, Any]:
        assert self.service.store is not None
        record = self.service.store.get(name) if _EXECUTION.match(name) else None
        if record is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"execution {name} not found")
        assert record is not None
        return record

    def create(self, request: types.CreateExecutionRequest, context: grpc.ServicerContext) -> types.Execution:
        match = _PARENT.match(request.parent)
        if not match:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad parent {request.parent!r}")
        assert match is not None
        argument = request.execution.argument or None
        if argument:
            try:
                json.loads(argument)
            except ValueError as exc:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"argument is not valid JSON: {exc}")
        try:
            name = self.service.create_execution(match.group(3), argument)
        except WorkflowNotFound:
            context.abort(grpc.StatusCode.NOT_FOUND, f"workflow {request.parent} not found")
        except ValueError as exc:  # DefinitionError: the YAML would not deploy
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"workflow {match.group(3)} is invalid: {exc}")
        return to_proto(self._record(name, context), types.ExecutionView.FULL, [])

    def get(self, request: types.GetExecutionRequest, context: grpc.ServicerContext) -> types.Execution:
        record = self._record(request.name, context)
        view = request.view or types.ExecutionView.FULL
        return to_proto(record, view, self.service.current_steps(request.name))

    def list(
        self, request: types.ListExecutionsRequest, context: grpc.ServicerContext
    ) -> types.ListExecutionsResponse:
        assert self.service.store is not None
        match = _PARENT.match(request.parent)
        if not match:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad parent {request.parent!r}")
        assert match is not None
        state = None
        if request.filter:
            state_match = _STATE_FILTER.match(request.filter)
            if not state_match or state_match.group(1) not in types.Execution.State.__members__:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"unsupported filter {request.filter!r}")
            assert state_match is not None
            state = state_match.group(1)
        size = min(request.page_size or 100, 1000)
        offset = int(request.page_token) if request.page_token.isdigit() else 0
        workflow = None if match.group(3) == "-" else match.group(3)
        records = self.service.store.list(workflow, state, size + 1, offset)
        view = request.view or types.ExecutionView.BASIC
        return types.ListExecutionsResponse(
            executions=[to_proto(r, view, self.service.current_steps(r["name"])) for r in records[:size]],
            next_page_token=str(offset + size) if len(records) > size else "",
        )

    def cancel(self, request: types.CancelExecutionRequest, context: grpc.ServicerContext) -> types.Execution:
        assert self.service.store is not None
        record = self._record(request.name, context)
        if record["state"] != "ACTIVE":
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"execution is {record['state']}, not ACTIVE")
        self.service.store.finish(request.name, "CANCELLED")
        self.service.cancel_execution(request.name)
        return to_proto(self._record(request.name, context), types.ExecutionView.FULL, [])


def _unary(fn: Any, request_type: Any, response_type: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        fn, request_deserializer=request_type.deserialize, response_serializer=response_type.serialize
    )


def executions_handler(service: WorkflowsService) -> grpc.GenericRpcHandler:
    servicer = ExecutionsServicer(service)
    return grpc.method_handlers_generic_handler(
        SERVICE_NAME,
        {
            "CreateExecution": _unary(servicer.create, types.CreateExecutionRequest, types.Execution),
            "GetExecution": _unary(servicer.get, types.GetExecutionRequest, types.Execution),
            "ListExecutions": _unary(
                servicer.list, types.ListExecutionsRequest, types.ListExecutionsResponse
            ),
            "CancelExecution": _unary(servicer.cancel, types.CancelExecutionRequest, types.Execution),
        },
    )
