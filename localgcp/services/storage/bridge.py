"""From fake-gcs-server's Pub/Sub notifications to the CloudEvents Eventarc delivers.

fake-gcs-server publishes one Pub/Sub message per object change (attributes ``eventType``,
``bucketId``, ``objectId``, ``objectGeneration``, ``eventTime``, ``payloadFormat=JSON_API_V1``;
data = a subset of the object resource) through the Go Pub/Sub client to
``PUBSUB_EMULATOR_HOST``. :class:`NotificationReceiver` is a tiny gRPC server implementing only
the ``google.pubsub.v1.Publisher`` methods that client calls, on a private loopback port, so the
storage service needs no Pub/Sub emulator. :func:`notification_to_cloudevent` is the pure
conversion into a ``google.cloud.storage.object.v1.*`` CloudEvent with a StorageObjectData body.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Mapping
from concurrent import futures
from typing import Any
from urllib.parse import quote

import grpc
from cloudevents.http import CloudEvent
from google.pubsub_v1.types import GetTopicRequest, PublishRequest, PublishResponse, Topic

from localgcp.services.storage.errors import NotificationError

log = logging.getLogger(__name__)

EVENT_TYPES = {
    "OBJECT_FINALIZE": "google.cloud.storage.object.v1.finalized",
    "OBJECT_DELETE": "google.cloud.storage.object.v1.deleted",
    "OBJECT_METADATA_UPDATE": "google.cloud.storage.object.v1.metadataUpdated",
    "OBJECT_ARCHIVE": "google.cloud.storage.object.v1.archived",
}

#: fields of the JSON object resource that StorageObjectData carries as strings (int64 in proto)
_INT64_FIELDS = ("generation", "metageneration", "size")


def object_etag(generation: int, metageneration: int) -> str:
    """The etag real GCS gives an object: base64 of the protobuf-encoded (generation,
    metageneration) pair, e.g. ``CKvG7rDd1vsCEAE=``."""

    def varint(value: int) -> bytes:
        out = bytearray()
        while True:
            byte = value & 0x7F
            value >>= 7
            if value:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                return bytes(out)

    return base64.b64encode(b"\x08" + varint(generation) + b"\x10" + varint(metageneration)).decode()


def storage_object_data(payload: Mapping[str, Any], *, base_url: str) -> dict[str, Any]:
    """The StorageObjectData JSON for one notification payload (JSON_API_V1 object resource).

    ``base_url`` is the emulator's address (``http://127.0.0.1:PORT``): selfLink and mediaLink
    point at the local service, as the object resources it serves do.
    """
    for key in ("bucket", "name", "generation"):
        if payload.get(key) in (None, ""):
            raise NotificationError(f"notification payload lacks {key!r}")
    bucket, name = str(payload["bucket"]), str(payload["name"])
    try:
        generation = int(payload["generation"])
        metageneration = int(payload.get("metageneration") or 1)
    except (TypeError, ValueError) as exc:
        raise NotificationError(f"non-numeric generation in notification payload: {exc}") from exc
    timestamp = payload.get("updated") or payload.get("timeCreated")
    data: dict[str, Any] = {
        "kind": "storage#object",
        "id": f"{bucket}/{name}/{generation}",
        "selfLink": f"{base_url}/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}",
        "name": name,
        "bucket": bucket,
        "generation": str(generation),
        "metageneration": str(metageneration),
        "contentType": payload.get("contentType") or "application/octet-stream",
        "timeCreated": payload.get("timeCreated") or timestamp,
        "updated": timestamp,
        "storageClass": payload.get("storageClass") or "STANDARD",
        "timeStorageClassUpdated": payload.get("timeCreated") or timestamp,
        "size": str(int(payload.get("size") or 0)),
        "md5Hash": payload.get("md5Hash", ""),
        "mediaLink": (
            f"{base_url}/download/storage/v1/b/{quote(bucket, safe='')}/o/{quote(name, safe='')}"
            f"?generation={generation}&alt=media"
        ),
        "crc32c": payload.get("crc32c", ""),
        "etag": object_etag(generation, metageneration),
    }
    for optional in ("contentEncoding", "contentDisposition", "contentLanguage", "cacheControl"):
        if payload.get(optional):
            data[optional] = payload[optional]
    if payload.get("metadata"):
        data["metadata"] = {str(k): str(v) for k, v in dict(payload["metadata"]).items()}
    return data


def notification_to_cloudevent(attributes: Mapping[str, str], data: bytes, *, base_url: str) -> CloudEvent:
    """Convert one JSON_API_V1 bucket notification into the CloudEvent Eventarc would deliver.

    The event id is derived from (type, bucket, object, generation, metageneration), so a
    notification delivered twice yields the same id and idempotent consumers can drop the copy.
    """
    event_type = EVENT_TYPES.get(attributes.get("eventType", ""))
    if event_type is None:
        raise NotificationError(f"unknown notification eventType {attributes.get('eventType')!r}")
    if attributes.get("payloadFormat", "JSON_API_V1") != "JSON_API_V1":
        raise NotificationError(f"unsupported payloadFormat {attributes.get('payloadFormat')!r}")
    try:
        payload = json.loads(data)
    except ValueError as exc:
        raise NotificationError(f"notification data is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise NotificationError("notification data is not a JSON object")
    body = storage_object_data(payload, base_url=base_url)
    identity = "|".join(
        (event_type, body["bucket"], body["name"], body["generation"], body["metageneration"])
    )
    event_id = str(int(hashlib.sha256(identity.encode()).hexdigest()[:15], 16))
    # A finalize happens at the object's ``updated`` time; fake-gcs-server does not bump ``updated``
    # on a metadata patch, so deletes and metadata updates take the notification's eventTime.
    when = body["updated"] if event_type == EVENT_TYPES["OBJECT_FINALIZE"] else attributes.get("eventTime")
    ce_attributes = {
        "specversion": "1.0",
        "id": event_id,
        "type": event_type,
        "source": f"//storage.googleapis.com/projects/_/buckets/{body['bucket']}",
        "subject": f"objects/{body['name']}",
        "time": when or body["updated"],
        "datacontenttype": "application/json",
        "bucket": body["bucket"],
    }
    return CloudEvent(ce_attributes, body)


NotificationHandler = Callable[[Mapping[str, str], bytes], None]


class NotificationReceiver:
    """The part of ``google.pubsub.v1.Publisher`` fake-gcs-server talks to, on 127.0.0.1.

    Every published message is handed to ``handler(attributes, data)`` before the Publish call
    returns, so fake-gcs-server's publish completes only once the event has been handled.
    """

    def __init__(self, handler: NotificationHandler, host: str = "127.0.0.1") -> None:
        self._handler = handler
        self._host = host
        self._ids = itertools.count(1)
        self._server: grpc.Server | None = None
        self.port = 0
        #: monotonic time of the last Publish call
        self.last_publish = 0.0

    def start(self) -> None:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="gcs-notify"))
        methods = {
            "Publish": grpc.unary_unary_rpc_method_handler(
                self._publish,
                request_deserializer=PublishRequest.deserialize,
                response_serializer=PublishResponse.serialize,
            ),
            "GetTopic": grpc.unary_unary_rpc_method_handler(
                self._get_topic,
                request_deserializer=GetTopicRequest.deserialize,
                response_serializer=Topic.serialize,
            ),
            "CreateTopic": grpc.unary_unary_rpc_method_handler(
                self._create_topic,
                request_deserializer=Topic.deserialize,
                response_serializer=Topic.serialize,
            ),
        }
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("google.pubsub.v1.Publisher", methods),)
        )
        self.port = server.add_insecure_port(f"{self._host}:0")
        server.start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=1).wait()
            self._server = None

    @property
    def address(self) -> str:
        return f"{self._host}:{self.port}"

    def _publish(self, request: PublishRequest, context: grpc.ServicerContext) -> PublishResponse:
        self.last_publish = time.monotonic()
        ids = []
        for message in request.messages:
            self._handler(dict(message.attributes), bytes(message.data))
            ids.append(str(next(self._ids)))
        return PublishResponse(message_ids=ids)

    def _get_topic(self, request: GetTopicRequest, context: grpc.ServicerContext) -> Topic:
        return Topic(name=request.topic)

    def _create_topic(self, request: Topic, context: grpc.ServicerContext) -> Topic:
        return Topic(name=request.name)
