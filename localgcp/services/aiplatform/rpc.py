"""What every servicer of the local Vertex AI shares: errors with their gRPC status, handler
wrapping, resource names, filters, paging, and long-running operations.

Handlers work on the raw protobuf classes behind ``google.cloud.aiplatform_v1.types``
(``Type.pb()``): GAPIC packages ship no ``*_pb2_grpc`` servicers, so each service is a
``grpc.method_handlers_generic_handler`` built from a name → (handler, request type) table.
Operations are returned already done (the work is local and quick), with the response packed
in ``Any`` under the exact type the SDK's ``operation.result()`` unpacks; they are stored so a
later ``google.longrunning.Operations/GetOperation`` answers too.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import grpc
from google.longrunning import operations_pb2
from google.protobuf import any_pb2, empty_pb2, timestamp_pb2

Handler = Callable[[Any, grpc.ServicerContext], Any]
EMPTY = empty_pb2.Empty()


class AipError(Exception):
    """An RPC failure: ``code`` is the gRPC status, ``message`` the text the client sees."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def not_found(kind: str, name: str) -> AipError:
    return AipError(grpc.StatusCode.NOT_FOUND, f"{kind} {name} not found.")


def invalid_argument(message: str) -> AipError:
    return AipError(grpc.StatusCode.INVALID_ARGUMENT, message)


def failed_precondition(message: str) -> AipError:
    return AipError(grpc.StatusCode.FAILED_PRECONDITION, message)


def guarded(fn: Handler) -> Handler:
    """Turn :class:`AipError` into the RPC status; a store closed mid-call into UNAVAILABLE."""

    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return fn(request, context)
        except AipError as exc:
            context.abort(exc.code, exc.message)
        except sqlite3.ProgrammingError:
            context.abort(grpc.StatusCode.UNAVAILABLE, "The local Vertex AI service is stopping.")

    handler.__name__ = fn.__name__
    return handler


def serialized(fn: Handler, lock: Any) -> Handler:
    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        with lock:
            return fn(request, context)

    handler.__name__ = fn.__name__
    return handler


def handlers(
    table: Mapping[str, tuple[Handler, Any]], lock: Any | None = None
) -> dict[str, grpc.RpcMethodHandler]:
    """``{"UploadModel": (fn, types.UploadModelRequest)}`` → gRPC method handlers; with ``lock``,
    each call holds it, so read-modify-write of resources (aliases, traffic splits) cannot interleave."""
    return {
        method: grpc.unary_unary_rpc_method_handler(
            guarded(serialized(fn, lock) if lock is not None else fn),
            request_deserializer=request_type.pb().FromString,
            response_serializer=lambda m: m.SerializeToString(),
        )
        for method, (fn, request_type) in table.items()
    }


class UnknownMethod(grpc.GenericRpcHandler):
    """Any method no servicer claims: UNIMPLEMENTED naming the method."""

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = handler_call_details.method

        def reject(request: bytes, context: grpc.ServicerContext) -> None:
            context.abort(
                grpc.StatusCode.UNIMPLEMENTED, f"localgcp Vertex AI service does not implement {method}."
            )

        return grpc.unary_unary_rpc_method_handler(reject)


_PARENT = re.compile(r"^projects/[^/]+/locations/[^/]+$")


def check_parent(parent: str) -> str:
    if not _PARENT.match(parent):
        raise invalid_argument(f"Invalid parent {parent!r}: expected projects/*/locations/*.")
    return parent


def resource(name: str, collection: str) -> tuple[str, str]:
    """``projects/p/locations/l/<collection>/<id>`` → (parent, id); INVALID_ARGUMENT otherwise."""
    match = re.match(rf"^(projects/[^/]+/locations/[^/]+)/{collection}/([^/@]+)$", name)
    if not match:
        raise invalid_argument(
            f"Invalid resource name {name!r}: expected projects/*/locations/*/{collection}/*."
        )
    return match.group(1), match.group(2)


def now_pb() -> Any:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(time.time_ns())
    return stamp


def page(items: list[Any], page_size: int, page_token: str) -> tuple[list[Any], str]:
    """Offset paging: the token is the index of the next item."""
    try:
        start = int(page_token) if page_token else 0
    except ValueError as exc:
        raise invalid_argument(f"Invalid page_token {page_token!r}.") from exc
    size = page_size if page_size > 0 else 100
    end = start + size
    return items[start:end], (str(end) if end < len(items) else "")


_TERM = re.compile(r'^\s*([A-Za-z_][\w.\-]*)\s*(=|!=|:)\s*(?:"([^"]*)"|(\S+))\s*$')


def matches(filter_text: str, fields: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """The AIP-160 subset the SDK and Rillflow use: terms joined by AND, each ``field="v"``,
    ``field!="v"``, ``labels.k="v"``, ``labels.k:*`` (key present) or ``field:*``."""
    if not filter_text.strip():
        return True
    for term in re.split(r"\s+AND\s+", filter_text.strip()):
        match = _TERM.match(term)
        if not match:
            raise invalid_argument(
                f'Unsupported filter term {term!r} (localgcp supports field="v", labels.k:*).'
            )
        key, op, quoted, bare = match.groups()
        value = quoted if quoted is not None else bare
        if key.startswith("labels."):
            actual: str | None = labels.get(key[len("labels.") :])
        elif key in fields:
            actual = fields[key]
        else:
            raise invalid_argument(f"Unsupported filter field {key!r}.")
        if op == ":" and value == "*":
            ok = actual is not None and actual != ""
        elif op == "!=":
            ok = actual != value
        else:
            ok = actual == value
        if not ok:
            return False
    return True


#: ``order_by`` keys every listed resource here has (a module adds its own, e.g. model versions)
TIME_AND_NAME_ORDER: dict[str, Callable[[Any], Any]] = {
    "create_time": lambda r: r.create_time.ToNanoseconds(),
    "update_time": lambda r: r.update_time.ToNanoseconds(),
    "display_name": lambda r: r.display_name,
}


def ordered(items: list[Any], order_by: str, keys: Mapping[str, Callable[[Any], Any]]) -> list[Any]:
    """Sort by ``"field [desc], field2"`` using ``keys``; the default order is creation."""
    for part in reversed([p.strip() for p in order_by.split(",") if p.strip()]):
        field, _, direction = part.partition(" ")
        if field not in keys:
            raise invalid_argument(f"Unsupported order_by field {field!r}.")
        items = sorted(items, key=keys[field], reverse=direction.strip().lower() == "desc")
    return items


def packed(message: Any) -> Any:
    box = any_pb2.Any()
    box.Pack(message)
    return box


class Operations:
    """Done operations, kept in the store's ``operations`` table so GetOperation works after a restart."""

    def __init__(self, db: Any) -> None:
        self.db = db

    def done(self, resource_name: str, response: Any, metadata: Any | None = None) -> Any:
        op_id = self.db.next_id("operation")
        op = operations_pb2.Operation(name=f"{resource_name}/operations/{op_id}", done=True)
        op.response.CopyFrom(packed(response))
        if metadata is not None:
            op.metadata.CopyFrom(packed(metadata))
        self.db.put("operation", op.name, op, parent="")
        return op

    def get_operation(self, request: Any, context: grpc.ServicerContext) -> Any:
        op = self.db.get("operation", request.name, operations_pb2.Operation)
        if op is None:
            raise not_found("Operation", request.name)
        return op

    def list_operations(self, request: Any, context: grpc.ServicerContext) -> Any:
        ops = [
            op
            for op in self.db.all("operation", operations_pb2.Operation)
            if op.name.startswith(request.name)
        ]
        chosen, token = page(ops, request.page_size, request.page_token)
        return operations_pb2.ListOperationsResponse(operations=chosen, next_page_token=token)

    def noop(self, request: Any, context: grpc.ServicerContext) -> Any:
        return EMPTY  # every operation is already done: cancel and delete have nothing to do

    def wait_operation(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.get_operation(request, context)

    def handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        table: Iterable[tuple[str, Handler, Any]] = (
            ("GetOperation", self.get_operation, operations_pb2.GetOperationRequest),
            ("ListOperations", self.list_operations, operations_pb2.ListOperationsRequest),
            ("CancelOperation", self.noop, operations_pb2.CancelOperationRequest),
            ("DeleteOperation", self.noop, operations_pb2.DeleteOperationRequest),
            ("WaitOperation", self.wait_operation, operations_pb2.WaitOperationRequest),
        )
        return {
            name: grpc.unary_unary_rpc_method_handler(
                guarded(fn),
                request_deserializer=req.FromString,
                response_serializer=lambda m: m.SerializeToString(),
            )
            for name, fn, req in table
        }
