"""StreamingPull: deliver leased messages over a bidirectional stream with server-side flow control.

The official client acknowledges and extends leases with *unary* Acknowledge and
ModifyAckDeadline calls even while a stream is open, so the stream cannot count its own
outstanding messages: :class:`LeaseRegistry` remembers which stream handed out each ack id
and frees room on that stream whichever path the ack arrives by.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc

from localgcp.services.pubsub.delivery import Delivery, MessageLog
from localgcp.services.pubsub.errors import PubSubError, invalid_argument
from localgcp.services.pubsub.store import Store

_LOG = logging.getLogger(__name__)
MAX_PER_RESPONSE = 1000
IDLE_POLL_S = 0.25


def varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_received(deliveries: list[Delivery]) -> bytes:
    """Field 1 (repeated ReceivedMessage) of PullResponse / StreamingPullResponse, from stored bytes."""
    parts = []
    for d in deliveries:
        ack = d.ack_id.encode()
        body = b"\x0a" + varint(len(ack)) + ack + b"\x12" + varint(len(d.blob)) + d.blob
        if d.delivery_attempt:
            body += b"\x18" + varint(d.delivery_attempt)
        parts.append(b"\x0a" + varint(len(body)) + body)
    return b"".join(parts)


class StreamState:
    def __init__(self, subscription: str, deadline_s: float, max_outstanding: int) -> None:
        self.subscription = subscription
        self.deadline_s = deadline_s
        self.max_outstanding = max_outstanding if max_outstanding > 0 else MAX_PER_RESPONSE
        self.outstanding: dict[str, float] = {}
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.closed = threading.Event()

    def close(self) -> None:
        self.closed.set()
        self.wake.set()

    def room(self) -> int:
        with self.lock:
            if len(self.outstanding) >= self.max_outstanding:
                now = time.time()
                for ack_id in [a for a, deadline in self.outstanding.items() if deadline <= now]:
                    del self.outstanding[ack_id]
            return self.max_outstanding - len(self.outstanding)


class LeaseRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: dict[tuple[str, str], StreamState] = {}

    def add(self, stream: StreamState, ack_ids: list[str], deadline: float) -> None:
        with self._lock, stream.lock:
            for ack_id in ack_ids:
                self._owner[(stream.subscription, ack_id)] = stream
                stream.outstanding[ack_id] = deadline

    def settle(self, subscription: str, ack_ids: list[str]) -> None:
        """Acked or nacked: the ack ids no longer count against their stream."""
        with self._lock:
            for ack_id in ack_ids:
                stream = self._owner.pop((subscription, ack_id), None)
                if stream is not None:
                    with stream.lock:
                        stream.outstanding.pop(ack_id, None)
                    stream.wake.set()

    def extend(self, subscription: str, ack_ids: list[str], deadline: float) -> None:
        with self._lock:
            for ack_id in ack_ids:
                stream = self._owner.get((subscription, ack_id))
                if stream is not None:
                    with stream.lock:
                        if ack_id in stream.outstanding:
                            stream.outstanding[ack_id] = deadline

    def drop(self, stream: StreamState) -> None:
        with self._lock, stream.lock:
            for ack_id in stream.outstanding:
                self._owner.pop((stream.subscription, ack_id), None)
            stream.outstanding.clear()


class StreamingPull:
    def __init__(self, store: Store, log: MessageLog, registry: LeaseRegistry) -> None:
        self.store = store
        self.log = log
        self.registry = registry

    def acknowledge(self, subscription: str, ack_ids: list[str]) -> None:
        self.log.ack(subscription, ack_ids)
        self.registry.settle(subscription, ack_ids)

    def modify(self, subscription: str, ack_ids: list[str], deadline_s: float) -> None:
        self.log.modify_deadline(subscription, ack_ids, deadline_s)
        if deadline_s == 0:
            self.registry.settle(subscription, ack_ids)
        else:
            self.registry.extend(subscription, ack_ids, time.time() + deadline_s)

    def _apply(self, stream: StreamState, request: Any) -> None:
        if request.stream_ack_deadline_seconds:
            stream.deadline_s = request.stream_ack_deadline_seconds
        if len(request.modify_deadline_seconds) != len(request.modify_deadline_ack_ids):
            raise invalid_argument(
                "modify_deadline_seconds and modify_deadline_ack_ids must have the same length."
            )
        if request.ack_ids:
            self.acknowledge(stream.subscription, list(request.ack_ids))
        by_deadline: dict[int, list[str]] = {}
        for seconds, ack_id in zip(
            request.modify_deadline_seconds, request.modify_deadline_ack_ids, strict=True
        ):
            by_deadline.setdefault(seconds, []).append(ack_id)
        for seconds, ack_ids in by_deadline.items():
            self.modify(stream.subscription, ack_ids, seconds)

    def _read(self, stream: StreamState, requests: Iterator[Any]) -> None:
        """Consume the client's half of the stream (acks, modacks, deadline changes) until it ends."""
        try:
            for request in requests:
                try:
                    self._apply(stream, request)
                except PubSubError as exc:
                    _LOG.info("streaming pull request on %s ignored: %s", stream.subscription, exc.message)
        except Exception:  # the stream was cancelled; nothing more to read
            pass
        finally:
            stream.closed.set()
            stream.wake.set()

    def __call__(self, requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[bytes]:
        try:
            first = next(requests)
        except StopIteration:
            return
        try:
            sub = self.store.sub(first.subscription)
            if not 10 <= first.stream_ack_deadline_seconds <= 600:
                raise invalid_argument("stream_ack_deadline_seconds must be between 10 and 600 seconds.")
            stream = StreamState(
                sub.pb.name, first.stream_ack_deadline_seconds, first.max_outstanding_messages
            )
            self._apply(stream, first)
        except PubSubError as exc:
            context.abort(exc.code, exc.message)
        props = b"\x22" + varint(4) + b"\x08" + (b"\x01" if sub.pb.enable_exactly_once_delivery else b"\x00")
        props += b"\x10" + (b"\x01" if sub.ordered else b"\x00")
        context.add_callback(stream.close)
        threading.Thread(
            target=self._read, args=(stream, requests), daemon=True, name="pubsub-stream-reader"
        ).start()
        try:
            yield from self._deliver(stream, context, props)
        finally:
            self.registry.drop(stream)

    def _deliver(self, stream: StreamState, context: grpc.ServicerContext, props: bytes) -> Iterator[bytes]:
        while not stream.closed.is_set() and not self.store.closed and context.is_active():
            version = self.store.version
            room = stream.room()
            if room <= 0:
                stream.wake.clear()
                stream.wake.wait(IDLE_POLL_S)
                continue
            try:
                batch = self.log.pull(stream.subscription, min(room, MAX_PER_RESPONSE), stream.deadline_s)
            except PubSubError as exc:
                context.abort(exc.code, exc.message)
            if batch:
                self.registry.add(stream, [d.ack_id for d in batch], time.time() + stream.deadline_s)
                yield encode_received(batch) + props
            else:
                self.store.wait_change(version, IDLE_POLL_S)
