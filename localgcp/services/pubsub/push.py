"""Push delivery: one thread leases messages of push subscriptions and POSTs them from a small pool.

A 2xx answer acks; anything else (or no answer) nacks with exponential backoff — the
subscription's retry policy if it has one, else 100 ms doubling up to 60 s — and the
dead-letter policy applies as for pull. The same thread runs the periodic retention sweep.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from localgcp.services.pubsub.delivery import Delivery, MessageLog, MessagePb, retry_backoff
from localgcp.services.pubsub.store import Store, SubRec

_LOG = logging.getLogger(__name__)
MAX_IN_FLIGHT_PER_SUBSCRIPTION = 16
GC_INTERVAL_S = 10.0
POLL_S = 0.2


def wrapped_body(subscription: str, msg: Any, attempt: int) -> bytes:
    """The standard push JSON wrapper (both spellings of the message fields, as the real service sends)."""
    publish_time = msg.publish_time.ToJsonString()
    message: dict[str, Any] = {
        "data": base64.b64encode(msg.data).decode("ascii"),
        "attributes": dict(msg.attributes),
        "messageId": msg.message_id,
        "message_id": msg.message_id,
        "publishTime": publish_time,
        "publish_time": publish_time,
    }
    if msg.ordering_key:
        message["orderingKey"] = msg.ordering_key
    return json.dumps({"message": message, "subscription": subscription, "deliveryAttempt": attempt}).encode()


def unwrapped_request(subscription: str, msg: Any, write_metadata: bool) -> tuple[bytes, dict[str, str]]:
    """``no_wrapper``: the raw data as body; attributes (and metadata) as headers if asked."""
    headers = {"Content-Type": "application/octet-stream"}
    if write_metadata:
        headers.update(dict(msg.attributes))
        headers["x-goog-pubsub-subscription-name"] = subscription
        headers["x-goog-pubsub-message-id"] = msg.message_id
        headers["x-goog-pubsub-publish-time"] = msg.publish_time.ToJsonString()
        if msg.ordering_key:
            headers["x-goog-pubsub-ordering-key"] = msg.ordering_key
    return bytes(msg.data), headers


def push_backoff(sub: SubRec, attempt: int) -> float:
    if sub.pb.HasField("retry_policy"):
        return retry_backoff(sub, attempt)
    return float(min(60.0, 0.1 * 2 ** max(0, attempt - 1)))


class PushDeliverer:
    def __init__(self, store: Store, log: MessageLog) -> None:
        self.store = store
        self.log = log
        self._stop = threading.Event()
        self._in_flight: dict[str, int] = {}
        self._counts = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="pubsub-push")
        self._sessions = threading.local()
        self._thread = threading.Thread(target=self._run, name="pubsub-push-loop", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self.store.lock:
            self.store.changed.notify_all()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        next_gc = time.monotonic() + GC_INTERVAL_S
        while not self._stop.is_set() and not self.store.closed:
            version = self.store.version
            try:
                dispatched = self._dispatch()
                if time.monotonic() >= next_gc:
                    self.log.collect_garbage()
                    next_gc = time.monotonic() + GC_INTERVAL_S
            except Exception:
                if self._stop.is_set() or self.store.closed:
                    return
                _LOG.exception("push loop error")
                dispatched = 0
            if not dispatched:
                self.store.wait_change(version, POLL_S)

    def _dispatch(self) -> int:
        dispatched = 0
        for sub in list(self.store.subs.values()):
            if not sub.pb.push_config.push_endpoint or sub.pb.detached:
                continue
            with self._counts:
                room = MAX_IN_FLIGHT_PER_SUBSCRIPTION - self._in_flight.get(sub.pb.name, 0)
            if room <= 0:
                continue
            batch = self.log.pull(sub.pb.name, room, sub.pb.ack_deadline_seconds)
            with self._counts:
                self._in_flight[sub.pb.name] = self._in_flight.get(sub.pb.name, 0) + len(batch)
            for delivery in batch:
                self._pool.submit(self._deliver, sub, delivery)
            dispatched += len(batch)
        return dispatched

    def _session(self) -> requests.Session:
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = requests.Session()
            session.trust_env = False  # loopback endpoints: never through a proxy
        return session

    def _deliver(self, sub: SubRec, delivery: Delivery) -> None:
        name = sub.pb.name
        attempt = int(delivery.ack_id.rsplit("-", 1)[1])
        try:
            msg = MessagePb.FromString(delivery.blob)
            config = sub.pb.push_config
            if config.HasField("no_wrapper"):
                body, headers = unwrapped_request(name, msg, config.no_wrapper.write_metadata)
            else:
                body, headers = wrapped_body(name, msg, attempt), {"Content-Type": "application/json"}
            timeout = min(float(sub.pb.ack_deadline_seconds), 60.0)
            try:
                status = self._session().post(
                    config.push_endpoint, data=body, headers=headers, timeout=timeout
                )
                ok = 200 <= status.status_code < 300
            except requests.RequestException as exc:
                _LOG.info("push to %s failed: %s", config.push_endpoint, exc)
                ok = False
            if self.store.closed:
                return
            if ok:
                self.log.ack(name, [delivery.ack_id])
            else:
                self.log.nack(name, [delivery.ack_id], push_backoff(sub, attempt))
        except Exception:
            if not self.store.closed:
                _LOG.exception("push delivery of %s on %s failed", delivery.msg_id, name)
        finally:
            with self._counts:
                self._in_flight[name] -= 1
            with self.store.lock:
                self.store.changed.notify_all()
