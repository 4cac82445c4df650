"""Draining a Pub/Sub subscription for the bounded local mode of ``streaming.pipeline``.

:class:`SubscriptionDrain` pulls (up to 1,000 messages, ≤ 8 MB, a call) until no message came
for ``idle_timeout_s`` or ``max_events`` events were pulled, holds the messages' leases (renewing
them in the background) while the run goes on, and acknowledges them only once it has succeeded
— on failure it releases them for redelivery. :func:`spool` writes the drained messages to a
local file and :func:`read_spool` reads them back, timestamped at :data:`DRAINED_MESSAGE_TS`,
as the bounded run's input.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from apache_beam.io.gcp.pubsub import PubsubMessage
from apache_beam.transforms.window import TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from streaming.decode import count_events

#: the timestamp of drained messages in a bounded run: earlier than any event, so the watermark
#: cannot pass an event before the drained input is used up (then it jumps to the end of time)
DRAINED_MESSAGE_TS = Timestamp(0)


@dataclass
class Drained:
    messages: list[PubsubMessage]
    ack_ids: list[str]
    events: int


PULL_RESPONSE_BYTES = 8 * 1024 * 1024


def subscriber_client() -> Any:
    """A SubscriberClient; against the emulator, on a channel without gRPC's 4 MB receive limit
    (the client library opens the emulator's channel with default options)."""
    from google.cloud.pubsub_v1 import SubscriberClient

    # the emulator variable the Pub/Sub client library itself reads, so the same test it makes
    host = os.environ.get("PUBSUB_EMULATOR_HOST")
    if not host:
        return SubscriberClient()
    import grpc
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    channel = grpc.insecure_channel(
        host, options=[("grpc.max_receive_message_length", -1), ("grpc.max_send_message_length", -1)]
    )
    return SubscriberClient(transport=SubscriberGrpcTransport(channel=channel))


class SubscriptionDrain:
    """Pull a subscription until idle (or ``max_events``), keep the leases, ack only on success."""

    def __init__(
        self,
        subscription: str,
        *,
        idle_timeout_s: float = 10.0,
        max_events: int | None = None,
        max_messages: int = 1000,
        lease_s: int = 600,
        client: Any = None,
    ) -> None:
        self.client = client if client is not None else subscriber_client()
        self.subscription = subscription
        self.idle_timeout_s = idle_timeout_s
        self.max_events = max_events
        self.max_messages = max_messages
        self.lease_s = lease_s
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def drain(self) -> Drained:
        from google.api_core import exceptions as gexc

        out = Drained([], [], 0)
        last = time.monotonic()
        batch = min(self.max_messages, 100)
        while not (self.max_events and out.events >= self.max_events):
            left = self.idle_timeout_s - (time.monotonic() - last)
            if left <= 0:
                break
            try:
                resp = self.client.pull(
                    subscription=self.subscription, max_messages=batch, timeout=max(1.0, min(left, 30.0))
                )
            except (gexc.DeadlineExceeded, gexc.RetryError):
                continue
            received = list(resp.received_messages)
            if not received:
                time.sleep(min(0.2, max(left, 0)))
                continue
            last = time.monotonic()
            # keep a response under ~8 MB whatever the batch size (gRPC and Pub/Sub cap responses)
            avg = sum(len(rm.message.data) for rm in received) / len(received)
            batch = max(1, min(self.max_messages, int(PULL_RESPONSE_BYTES / max(avg, 1.0))))
            ack_ids = [rm.ack_id for rm in received]
            self._extend(ack_ids, self.lease_s)
            out.ack_ids.extend(ack_ids)
            for rm in received:
                m = rm.message
                out.messages.append(
                    PubsubMessage(
                        m.data, dict(m.attributes), message_id=m.message_id, publish_time=m.publish_time
                    )
                )
                out.events += count_events(m.data)
        self._start_renewer(out.ack_ids)
        return out

    def _extend(self, ack_ids: Sequence[str], seconds: int) -> None:
        for i in range(0, len(ack_ids), 1000):
            self.client.modify_ack_deadline(
                subscription=self.subscription,
                ack_ids=list(ack_ids[i : i + 1000]),
                ack_deadline_seconds=seconds,
            )

    def _start_renewer(self, ack_ids: list[str]) -> None:
        def renew() -> None:
            while not self._stop.wait(self.lease_s / 2):
                self._extend(ack_ids, self.lease_s)

        if ack_ids:
            self._renewer = threading.Thread(target=renew, name="lease-renewer", daemon=True)
            self._renewer.start()

    def finish(self, drained: Drained, success: bool) -> None:
        """Ack on success; otherwise release the leases so the messages are redelivered now."""
        self._stop.set()
        if not drained.ack_ids:
            return
        if success:
            for i in range(0, len(drained.ack_ids), 1000):
                self.client.acknowledge(subscription=self.subscription, ack_ids=drained.ack_ids[i : i + 1000])
        else:
            self._extend(drained.ack_ids, 0)


def spool(messages: Sequence[PubsubMessage], path: str) -> str:
    """Write drained messages to a local file the bounded run reads (cheaper than ``beam.Create``,
    which would pickle and compress every payload into the pipeline definition)."""
    with open(path, "wb") as fh:
        for m in messages:
            pickle.dump(
                (m.data, m.attributes, m.message_id, m.publish_time), fh, protocol=pickle.HIGHEST_PROTOCOL
            )
    return path


def read_spool(path: str) -> Iterator[TimestampedValue]:
    with open(path, "rb") as fh:
        while True:
            try:
                data, attributes, message_id, publish_time = pickle.load(fh)
            except EOFError:
                return
            message = PubsubMessage(data, attributes, message_id=message_id, publish_time=publish_time)
            yield TimestampedValue(message, DRAINED_MESSAGE_TS)


__all__ = [
    "DRAINED_MESSAGE_TS",
    "Drained",
    "SubscriptionDrain",
    "read_spool",
    "spool",
    "subscriber_client",
]
