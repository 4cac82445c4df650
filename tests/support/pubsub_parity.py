"""Clients of one parity backend on a project of a test's own (``tests/localgcp_pubsub/parity``).

The ``project`` fixture of ``tests/localgcp_pubsub/parity/conftest.py`` makes one per test; Google's
emulator waits seconds in an empty unary Pull, so "nothing more to deliver" is checked with
``return_immediately`` (:meth:`Project.pull_now`), and messages are awaited by polling.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.cloud import pubsub_v1

from tests.support.google_emulators import Backend


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


@dataclass
class Project:
    """Clients of one backend on a fresh project, with helpers named after what the tests do."""

    backend: Backend
    path: str  # projects/<id>
    publisher: pubsub_v1.PublisherClient
    subscriber: pubsub_v1.SubscriberClient
    schemas: pubsub_v1.SchemaServiceClient

    @property
    def id(self) -> str:
        return self.path.removeprefix("projects/")

    def name(self, kind: str, short: str) -> str:
        return f"{self.path}/{kind}/{short}"

    def topic(self, short: str = "topic", **fields: Any) -> str:
        request = {"name": self.name("topics", short), **fields}
        return str(self.publisher.create_topic(request=request).name)

    def subscription(self, topic: str, short: str = "sub", **fields: Any) -> str:
        request = {"name": self.name("subscriptions", short), "topic": topic, **fields}
        return str(self.subscriber.create_subscription(request=request).name)

    def publish(self, topic: str, data: bytes, **attributes: str) -> str:
        return str(self.publisher.publish(topic, data, **attributes).result(timeout=30))

    def pull_now(self, subscription: str, max_messages: int = 100) -> list[Any]:
        """What is deliverable right now (``return_immediately``: no long-poll wait on either side)."""
        request = {"subscription": subscription, "max_messages": max_messages, "return_immediately": True}
        with warnings.catch_warnings():  # deprecated for production use, but what a test needs here
            warnings.simplefilter("ignore", DeprecationWarning)
            return list(self.subscriber.pull(request=request).received_messages)

    def pull_until(self, subscription: str, count: int, timeout: float = 15.0) -> list[Any]:
        """Pull (without acking) until ``count`` messages came back, or the timeout."""
        received: list[Any] = []

        def enough() -> bool:
            received.extend(self.pull_now(subscription, count - len(received)))
            return len(received) >= count

        wait_for(enough, timeout)
        return received

    def ack(self, subscription: str, received: list[Any]) -> None:
        if received:
            self.subscriber.acknowledge(subscription=subscription, ack_ids=[m.ack_id for m in received])

    def nack(self, subscription: str, received: list[Any]) -> None:
        ack_ids = [m.ack_id for m in received]
        self.subscriber.modify_ack_deadline(
            subscription=subscription, ack_ids=ack_ids, ack_deadline_seconds=0
        )
