"""gRPC wiring and the :class:`FirestoreService` the registry starts and stops."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
from google.cloud.firestore_v1.types import firestore as fs
from google.protobuf import empty_pb2

from localgcp.services.base import ServiceContext
from localgcp.services.firestore.errors import FirestoreError
from localgcp.services.firestore.provider import FirestoreProvider
from localgcp.services.firestore.store import DEFAULT_RETENTION_SECONDS, DocumentStore
from localgcp.services.firestore.values import Document

log = logging.getLogger(__name__)
SERVICE = "google.firestore.v1.Firestore"
HISTORY_ENV = "LOCALGCP_FIRESTORE_HISTORY_S"
_UNSUPPORTED = {
    "Write": "the Write stream is not supported by the local Firestore emulator; use Commit or BatchWrite",
    "ExecutePipeline": "pipeline queries are not supported by the local Firestore emulator",
}


def _fail(exc: Exception, context: Any) -> None:
    if isinstance(exc, FirestoreError):
        context.abort(exc.code, exc.message)
    log.exception("Firestore emulator internal error")
    context.abort(grpc.StatusCode.INTERNAL, f"local Firestore emulator error: {type(exc).__name__}: {exc}")


def _guard(fn: Callable) -> Callable:
    def unary(request: Any, context: Any) -> Any:
        try:
            return fn(request, context)
        except Exception as exc:
            _fail(exc, context)

    return unary


def _guard_stream(fn: Callable) -> Callable:
    def stream(request: Any, context: Any) -> Iterator[Any]:
        try:
            yield from fn(request, context)
        except Exception as exc:
            _fail(exc, context)

    return stream


#: bidirectional streams: request iterator in, responses out
_BIDI_STREAMING: dict[str, tuple[Any, Any]] = {
    "Listen": (fs.ListenRequest, fs.ListenResponse.pb()),
}


_UNARY: dict[str, tuple[Any, Any]] = {
    "GetDocument": (fs.GetDocumentRequest, Document),
    "ListDocuments": (fs.ListDocumentsRequest, fs.ListDocumentsResponse.pb()),
    "CreateDocument": (fs.CreateDocumentRequest, Document),
    "UpdateDocument": (fs.UpdateDocumentRequest, Document),
    "DeleteDocument": (fs.DeleteDocumentRequest, empty_pb2.Empty),
    "BeginTransaction": (fs.BeginTransactionRequest, fs.BeginTransactionResponse.pb()),
    "Commit": (fs.CommitRequest, fs.CommitResponse.pb()),
    "Rollback": (fs.RollbackRequest, empty_pb2.Empty),
    "PartitionQuery": (fs.PartitionQueryRequest, fs.PartitionQueryResponse.pb()),
    "ListCollectionIds": (fs.ListCollectionIdsRequest, fs.ListCollectionIdsResponse.pb()),
    "BatchWrite": (fs.BatchWriteRequest, fs.BatchWriteResponse.pb()),
}
_SERVER_STREAMING: dict[str, tuple[Any, Any]] = {
    "BatchGetDocuments": (fs.BatchGetDocumentsRequest, fs.BatchGetDocumentsResponse.pb()),
    "RunQuery": (fs.RunQueryRequest, fs.RunQueryResponse.pb()),
    "RunAggregationQuery": (fs.RunAggregationQueryRequest, fs.RunAggregationQueryResponse.pb()),
}


def _refuse(method: str) -> grpc.RpcMethodHandler:
    message = _UNSUPPORTED.get(
        method, f"{SERVICE}/{method} is not implemented by the local Firestore emulator"
    )

    def handler(request_iterator: Any, context: Any) -> Iterator[Any]:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, message)
        yield from ()

    return grpc.stream_stream_rpc_method_handler(handler)


class _UnsupportedMethods(grpc.GenericRpcHandler):
    """Any other Firestore method fails loudly with UNIMPLEMENTED (never a silent success)."""

    def service(self, handler_call_details: Any) -> grpc.RpcMethodHandler | None:
        prefix = f"/{SERVICE}/"
        if handler_call_details.method.startswith(prefix):
            return _refuse(handler_call_details.method[len(prefix) :])
        return None


def rpc_handlers(provider: FirestoreProvider) -> list[grpc.GenericRpcHandler]:
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for method, (request_type, response_pb) in _UNARY.items():
        handlers[method] = grpc.unary_unary_rpc_method_handler(
            _guard(getattr(provider, method)),
            request_deserializer=request_type.pb().FromString,
            response_serializer=response_pb.SerializeToString,
        )
    for method, (request_type, response_pb) in _SERVER_STREAMING.items():
        handlers[method] = grpc.unary_stream_rpc_method_handler(
            _guard_stream(getattr(provider, method)),
            request_deserializer=request_type.pb().FromString,
            response_serializer=response_pb.SerializeToString,
        )
    for method, (request_type, response_pb) in _BIDI_STREAMING.items():
        handlers[method] = grpc.stream_stream_rpc_method_handler(
            _guard_stream(getattr(provider, method)),
            request_deserializer=request_type.pb().FromString,
            response_serializer=response_pb.SerializeToString,
        )
    for method in _UNSUPPORTED:
        handlers[method] = _refuse(method)
    return [grpc.method_handlers_generic_handler(SERVICE, handlers), _UnsupportedMethods()]


class FirestoreService:
    """The local Firestore: a gRPC server on 127.0.0.1 over SQLite in ``ctx.data_dir``.

    ``history_seconds`` is how far back ``read_time`` reads reach (Firestore's one hour by
    default; ``LOCALGCP_FIRESTORE_HISTORY_S`` overrides it)."""

    name = "firestore"

    def __init__(
        self, ctx: ServiceContext, location: str | None = None, history_seconds: float | None = None
    ) -> None:
        self.ctx = ctx
        self.location = location or ctx.region
        if history_seconds is None:
            # localgcp's own emulator knob (LOCALGCP_*, like LOCALGCP_PUBSUB_*), not a Rillflow setting
            history_seconds = float(os.environ.get(HISTORY_ENV, DEFAULT_RETENTION_SECONDS))
        self.history_seconds = history_seconds
        self._server: grpc.Server | None = None
        self._store: DocumentStore | None = None
        self._port = 0

    @property
    def address(self) -> str:
        if self._server is None:
            raise RuntimeError("the Firestore emulator is not started")
        return f"127.0.0.1:{self._port}"

    def start(self) -> None:
        if self._server is not None:
            return
        self._store = DocumentStore(self.ctx.data_dir / "firestore.sqlite3", self.history_seconds)
        provider = FirestoreProvider(self._store, self.ctx.sink, self.location)
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="firestore"),
            options=[
                ("grpc.max_receive_message_length", 64 * 1024 * 1024),
                ("grpc.max_send_message_length", 64 * 1024 * 1024),
                ("grpc.so_reuseport", 0),
            ],
        )
        server.add_generic_rpc_handlers(rpc_handlers(provider))
        port = server.add_insecure_port(f"127.0.0.1:{self.ctx.port}")
        if port == 0:
            self._store.close()
            raise RuntimeError(f"cannot bind 127.0.0.1:{self.ctx.port} for the Firestore emulator")
        server.start()
        self._server, self._port = server, port

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=1.0).wait()
            self._server = None
        if self._store is not None:
            self._store.close()
            self._store = None
