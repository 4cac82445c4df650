"""gRPC servicers: google.pubsub.v1.Publisher and SchemaService here, Subscriber in :mod:`.subscriber`.

Handlers work on the raw protobuf classes behind ``google.pubsub_v1.types`` (``Type.pb()``):
they (de)serialize in C (upb), an order of magnitude faster than proto-plus wrappers. A
handler may also return ready ``bytes`` (pull responses are assembled from stored bytes).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import empty_pb2
from google.pubsub_v1 import types as t

from localgcp.services.pubsub.delivery import MessageLog
from localgcp.services.pubsub.errors import PubSubError, invalid_argument, unimplemented
from localgcp.services.pubsub.schemas import MessageInvalid, check_message, compile_schema
from localgcp.services.pubsub.store import Store, check_name, check_project, page

_LOG = logging.getLogger(__name__)
EMPTY = empty_pb2.Empty()
TOPIC_MUTABLE = {
    "labels",
    "message_storage_policy",
    "kms_key_name",
    "schema_settings",
    "message_retention_duration",
}
SCHEMA_BASIC = 1
SCHEMA_FULL = 2


def serialize(message: Any) -> bytes:
    return message if isinstance(message, bytes) else message.SerializeToString()


def guarded(fn: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[[Any, grpc.ServicerContext], Any]:
    """Turn :class:`PubSubError` into the RPC status; a store closed mid-call into UNAVAILABLE."""

    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return fn(request, context)
        except PubSubError as exc:
            context.abort(exc.code, exc.message)
        except sqlite3.ProgrammingError:
            context.abort(grpc.StatusCode.UNAVAILABLE, "The Pub/Sub emulator is stopping.")

    handler.__name__ = fn.__name__
    return handler


def unary(fn: Callable[[Any, grpc.ServicerContext], Any], request_type: Any) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        guarded(fn), request_deserializer=request_type.pb().FromString, response_serializer=serialize
    )


def not_implemented(method: str, detail: str = "") -> Callable[[Any, grpc.ServicerContext], Any]:
    def reject(request: Any, context: grpc.ServicerContext) -> Any:
        raise unimplemented(method, detail)

    return reject


def apply_mask(mask: Any, source: Any, target: Any, allowed: set[str], kind: str) -> Any:
    """A copy of ``target`` with the masked fields taken from ``source``."""
    if not mask.paths:
        raise invalid_argument(f"The update_mask in the Update{kind} request must be set.")
    for path in mask.paths:
        if path.split(".")[0] not in allowed:
            raise invalid_argument(f"Invalid update_mask provided in the Update{kind} request: {path!r}.")
    updated = type(target)()
    updated.CopyFrom(target)
    mask.MergeMessage(source, updated, replace_message_field=True, replace_repeated_field=True)
    return updated


class Publisher:
    def __init__(self, store: Store, log: MessageLog) -> None:
        self.store = store
        self.log = log

    def create_topic(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.store.create_topic(request)

    def get_topic(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.store.topic(request.topic).pb

    def update_topic(self, request: Any, context: grpc.ServicerContext) -> Any:
        rec = self.store.topic(request.topic.name)
        updated = apply_mask(request.update_mask, request.topic, rec.pb, TOPIC_MUTABLE, "Topic")
        self.store.check_topic_settings(updated)
        rec.pb = updated
        self.store.save_topic(rec)
        return updated

    def list_topics(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_project(request.project)
        prefix = request.project + "/topics/"
        names, token = page(
            [n for n in self.store.topics if n.startswith(prefix)], request.page_size, request.page_token
        )
        return t.ListTopicsResponse.pb()(
            topics=[self.store.topics[n].pb for n in names], next_page_token=token
        )

    def list_topic_subscriptions(self, request: Any, context: grpc.ServicerContext) -> Any:
        topic = self.store.topic(request.topic)
        subs = [name for name, rec in self.store.subs.items() if rec.topic_id == topic.id]
        names, token = page(subs, request.page_size, request.page_token)
        return t.ListTopicSubscriptionsResponse.pb()(subscriptions=names, next_page_token=token)

    def list_topic_snapshots(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.store.topic(request.topic)
        return t.ListTopicSnapshotsResponse.pb()()  # snapshots cannot be created here, so there are none

    def delete_topic(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.store.delete_topic(request.topic)
        return EMPTY

    def detach_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.store.detach_subscription(request.subscription)
        return t.DetachSubscriptionResponse.pb()()

    def publish(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_name("topics", request.topic)
        topic = self.store.topic(request.topic).pb
        if not request.messages:
            raise invalid_argument("The request must contain at least one message.")
        for msg in request.messages:
            check_envelope(msg)
        settings = topic.schema_settings
        if settings.schema:
            compiled = self.store.compiled.get(settings.schema)
            if compiled is None:
                # NOT_FOUND, as Google's emulator answers
                raise PubSubError(
                    grpc.StatusCode.NOT_FOUND, f"The topic's schema {settings.schema!r} no longer exists."
                )
            for i, msg in enumerate(request.messages):
                try:
                    check_message(compiled, msg.data, settings.encoding)
                except MessageInvalid as exc:
                    raise invalid_argument(
                        f"Invalid data in message: Message failed schema validation: message {i}: {exc}"
                    ) from exc
        ids = self.log.publish(request.topic, list(request.messages))
        return t.PublishResponse.pb()(message_ids=[str(i) for i in ids])

    def handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        return {
            "CreateTopic": unary(self.create_topic, t.Topic),
            "UpdateTopic": unary(self.update_topic, t.UpdateTopicRequest),
            "Publish": unary(self.publish, t.PublishRequest),
            "GetTopic": unary(self.get_topic, t.GetTopicRequest),
            "ListTopics": unary(self.list_topics, t.ListTopicsRequest),
            "ListTopicSubscriptions": unary(self.list_topic_subscriptions, t.ListTopicSubscriptionsRequest),
            "ListTopicSnapshots": unary(self.list_topic_snapshots, t.ListTopicSnapshotsRequest),
            "DeleteTopic": unary(self.delete_topic, t.DeleteTopicRequest),
            "DetachSubscription": unary(self.detach_subscription, t.DetachSubscriptionRequest),
        }


def check_envelope(msg: Any) -> None:
    """The limits the real service enforces on every message regardless of schema."""
    if msg.data and not msg.attributes and len(msg.ordering_key) <= 1024:
        return  # the common case, checked cheaply
    if not msg.data and not msg.attributes:
        raise invalid_argument(
            "Some messages in the publish request are empty. Each message must contain a non-empty data "
            "field, or at least one attribute."
        )
    if len(msg.ordering_key) > 1024:
        raise invalid_argument("An ordering key must be at most 1024 bytes.")
    for key, value in msg.attributes.items():
        if not key or len(key.encode()) > 256 or key.startswith("goog"):
            raise invalid_argument(f"Invalid attribute key {key!r}: 1..256 bytes, not starting with 'goog'.")
        if len(value.encode()) > 1024:
            raise invalid_argument(f"The value of attribute {key!r} is longer than 1024 bytes.")


class SchemaService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def create_schema(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_project(request.parent)
        schema = type(request.schema)()
        schema.CopyFrom(request.schema)
        schema.name = f"{request.parent}/schemas/{request.schema_id}"
        return self.store.create_schema(schema)

    def _view(self, schema: Any, view: int) -> Any:
        if view != SCHEMA_BASIC:
            return schema
        return type(schema)(name=schema.name, type_=schema.type_)

    def get_schema(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._view(self.store.schema(request.name), request.view or SCHEMA_FULL)

    def list_schemas(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_project(request.parent)
        prefix = request.parent + "/schemas/"
        names, token = page(
            [n for n in self.store.schemas if n.startswith(prefix)], request.page_size, request.page_token
        )
        view = request.view or SCHEMA_BASIC
        return t.ListSchemasResponse.pb()(
            schemas=[self._view(self.store.schemas[n], view) for n in names], next_page_token=token
        )

    def delete_schema(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.store.delete_schema(request.name)
        return EMPTY

    def validate_schema(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_project(request.parent)
        compile_schema(request.schema.type_, request.schema.definition)
        return t.ValidateSchemaResponse.pb()()

    def validate_message(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_project(request.parent)
        if request.name:
            self.store.schema(request.name)
            compiled = self.store.compiled[request.name]
        else:
            compiled = compile_schema(request.schema.type_, request.schema.definition)
        try:
            check_message(compiled, request.message, request.encoding)
        except MessageInvalid as exc:
            raise invalid_argument(
                f"Invalid data in message: Message failed schema validation: {exc}"
            ) from exc
        return t.ValidateMessageResponse.pb()()

    def handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        revisions = "schema revisions are not supported; create a new schema instead"
        return {
            "CreateSchema": unary(self.create_schema, t.CreateSchemaRequest),
            "GetSchema": unary(self.get_schema, t.GetSchemaRequest),
            "ListSchemas": unary(self.list_schemas, t.ListSchemasRequest),
            "DeleteSchema": unary(self.delete_schema, t.DeleteSchemaRequest),
            "ValidateSchema": unary(self.validate_schema, t.ValidateSchemaRequest),
            "ValidateMessage": unary(self.validate_message, t.ValidateMessageRequest),
            "ListSchemaRevisions": unary(
                not_implemented("ListSchemaRevisions", revisions), t.ListSchemaRevisionsRequest
            ),
            "CommitSchema": unary(not_implemented("CommitSchema", revisions), t.CommitSchemaRequest),
            "RollbackSchema": unary(not_implemented("RollbackSchema", revisions), t.RollbackSchemaRequest),
            "DeleteSchemaRevision": unary(
                not_implemented("DeleteSchemaRevision", revisions), t.DeleteSchemaRevisionRequest
            ),
        }


class UnknownMethod(grpc.GenericRpcHandler):
    """Any method no servicer claims (IAM, newer RPCs): UNIMPLEMENTED naming the method."""

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        method = handler_call_details.method

        def reject(request: bytes, context: grpc.ServicerContext) -> None:
            context.abort(
                grpc.StatusCode.UNIMPLEMENTED, f"localgcp Pub/Sub emulator does not implement {method}."
            )

        return grpc.unary_unary_rpc_method_handler(reject)
