"""google.pubsub.v1.Subscriber: subscriptions, Pull, acks, ModifyPushConfig, Seek; StreamingPull in .streaming."""

from __future__ import annotations

import os
import time
from typing import Any

import grpc
from google.pubsub_v1 import types as t

from localgcp.services.pubsub.delivery import MessageLog
from localgcp.services.pubsub.errors import invalid_argument, unimplemented
from localgcp.services.pubsub.provider import EMPTY, apply_mask, not_implemented, serialize, unary
from localgcp.services.pubsub.store import Store, check_project, page, seconds
from localgcp.services.pubsub.streaming import LeaseRegistry, StreamingPull, encode_received

SUBSCRIPTION_MUTABLE = {
    "ack_deadline_seconds",
    "push_config",
    "labels",
    "retain_acked_messages",
    "message_retention_duration",
    "expiration_policy",
    "dead_letter_policy",
    "retry_policy",
    "enable_exactly_once_delivery",
    "detached",
}


def pull_wait_s() -> float:
    """How long an empty unary Pull waits for messages (``LOCALGCP_PUBSUB_PULL_WAIT_S``, default 1 s)."""
    return float(os.environ.get("LOCALGCP_PUBSUB_PULL_WAIT_S", "1.0"))


def min_ack_deadline() -> int:
    """10 s as in the real API; ``LOCALGCP_PUBSUB_MIN_ACK_DEADLINE_S`` lowers it (tests of redelivery)."""
    return int(os.environ.get("LOCALGCP_PUBSUB_MIN_ACK_DEADLINE_S", "10"))


def normalize_subscription(store: Store, sub: Any) -> None:
    """Defaults and limits of the real API; UNIMPLEMENTED for features this emulator lacks."""
    if sub.ack_deadline_seconds == 0:
        sub.ack_deadline_seconds = 10
    if not min_ack_deadline() <= sub.ack_deadline_seconds <= 600:
        raise invalid_argument(
            f"Invalid ack_deadline_seconds {sub.ack_deadline_seconds}: must be in [10, 600]."
        )
    if sub.filter:
        raise unimplemented("subscription filters", "create the subscription without a filter")
    for export in ("bigquery_config", "cloud_storage_config", "bigtable_config"):
        if sub.HasField(export):
            raise unimplemented(f"export subscriptions ({export})")
    if len(sub.message_transforms):
        raise unimplemented("message transforms (SMTs)")
    if not sub.HasField("message_retention_duration"):
        sub.message_retention_duration.seconds = 7 * 86400
    elif not 600 <= seconds(sub.message_retention_duration) <= 31 * 86400:
        raise invalid_argument("message_retention_duration must be between 10 minutes and 31 days.")
    policy = sub.dead_letter_policy
    if policy.dead_letter_topic:
        store.topic(policy.dead_letter_topic)
        if policy.max_delivery_attempts == 0:
            policy.max_delivery_attempts = 5
        if not 5 <= policy.max_delivery_attempts <= 100:
            raise invalid_argument("dead_letter_policy.max_delivery_attempts must be in [5, 100].")
    if sub.HasField("retry_policy"):  # the real service fills in the backoffs left unset: 10 s and 600 s
        if not sub.retry_policy.HasField("minimum_backoff"):
            sub.retry_policy.minimum_backoff.seconds = 10
        if not sub.retry_policy.HasField("maximum_backoff"):
            sub.retry_policy.maximum_backoff.seconds = 600
    check_push_endpoint(sub.push_config)
    sub.state = 1  # ACTIVE


def check_push_endpoint(push_config: Any) -> None:
    endpoint = push_config.push_endpoint
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise invalid_argument(f"Invalid push_endpoint {endpoint!r}: must be an http(s) URL.")


class Subscriber:
    def __init__(self, store: Store, log: MessageLog) -> None:
        self.store = store
        self.log = log
        self.streaming = StreamingPull(store, log, LeaseRegistry())

    def create_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        normalize_subscription(self.store, request)
        return self.store.create_subscription(request)

    def get_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.store.sub(request.subscription).pb

    def update_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        rec = self.store.sub(request.subscription.name)
        updated = apply_mask(
            request.update_mask, request.subscription, rec.pb, SUBSCRIPTION_MUTABLE, "Subscription"
        )
        normalize_subscription(self.store, updated)
        rec.pb = updated
        self.store.save_subscription(rec)
        return updated

    def list_subscriptions(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_project(request.project)
        prefix = request.project + "/subscriptions/"
        names, token = page(
            [n for n in self.store.subs if n.startswith(prefix)], request.page_size, request.page_token
        )
        return t.ListSubscriptionsResponse.pb()(
            subscriptions=[self.store.subs[n].pb for n in names], next_page_token=token
        )

    def delete_subscription(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.store.delete_subscription(request.subscription)
        return EMPTY

    def modify_push_config(self, request: Any, context: grpc.ServicerContext) -> Any:
        rec = self.store.sub(request.subscription)
        check_push_endpoint(request.push_config)
        rec.pb.push_config.CopyFrom(request.push_config)
        self.store.save_subscription(rec)
        return EMPTY

    def pull(self, request: Any, context: grpc.ServicerContext) -> bytes:
        if request.max_messages <= 0:
            raise invalid_argument("max_messages must be a positive integer.")
        lease_s = self.store.sub(request.subscription).pb.ack_deadline_seconds
        limit = min(request.max_messages, 1000)
        give_up = time.monotonic() + (0.0 if request.return_immediately else pull_wait_s())
        while True:
            version = self.store.version
            batch = self.log.pull(request.subscription, limit, lease_s)
            remaining = give_up - time.monotonic()
            if batch or remaining <= 0 or self.store.closed or not context.is_active():
                return encode_received(batch)
            self.store.wait_change(version, min(remaining, 0.25))

    def acknowledge(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.streaming.acknowledge(request.subscription, list(request.ack_ids))
        return EMPTY

    def modify_ack_deadline(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.streaming.modify(request.subscription, list(request.ack_ids), request.ack_deadline_seconds)
        return EMPTY

    def seek(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.snapshot:
            raise unimplemented("Seek to a snapshot", "snapshots are not supported; seek to a time instead")
        if not request.HasField("time"):
            raise invalid_argument("A Seek request must name its target: a time or a snapshot.")
        self.store.sub(request.subscription)
        self.log.seek_to_time(request.subscription, seconds(request.time))
        return t.SeekResponse.pb()()

    def list_snapshots(self, request: Any, context: grpc.ServicerContext) -> Any:
        check_project(request.project)
        return t.ListSnapshotsResponse.pb()()  # snapshots cannot be created here, so there are none

    def handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        snapshots = "snapshots are not supported; use Seek to a time"
        return {
            "CreateSubscription": unary(self.create_subscription, t.Subscription),
            "GetSubscription": unary(self.get_subscription, t.GetSubscriptionRequest),
            "UpdateSubscription": unary(self.update_subscription, t.UpdateSubscriptionRequest),
            "ListSubscriptions": unary(self.list_subscriptions, t.ListSubscriptionsRequest),
            "DeleteSubscription": unary(self.delete_subscription, t.DeleteSubscriptionRequest),
            "ModifyAckDeadline": unary(self.modify_ack_deadline, t.ModifyAckDeadlineRequest),
            "Acknowledge": unary(self.acknowledge, t.AcknowledgeRequest),
            "Pull": unary(self.pull, t.PullRequest),
            "StreamingPull": grpc.stream_stream_rpc_method_handler(
                self.streaming,
                request_deserializer=t.StreamingPullRequest.pb().FromString,
                response_serializer=serialize,
            ),
            "ModifyPushConfig": unary(self.modify_push_config, t.ModifyPushConfigRequest),
            "Seek": unary(self.seek, t.SeekRequest),
            "ListSnapshots": unary(self.list_snapshots, t.ListSnapshotsRequest),
            "GetSnapshot": unary(not_implemented("GetSnapshot", snapshots), t.GetSnapshotRequest),
            "CreateSnapshot": unary(not_implemented("CreateSnapshot", snapshots), t.CreateSnapshotRequest),
            "UpdateSnapshot": unary(not_implemented("UpdateSnapshot", snapshots), t.UpdateSnapshotRequest),
            "DeleteSnapshot": unary(not_implemented("DeleteSnapshot", snapshots), t.DeleteSnapshotRequest),
        }
