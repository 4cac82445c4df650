"""The local Pub/Sub as the Pub/Sub tests drive it: clients of the running service and a polling helper.

``tests/localgcp_pubsub/conftest.py`` starts one per test (the ``emulator`` fixture).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.cloud import pubsub_v1

from localgcp.services.pubsub import PubSubService

PROJECT = "projects/rillflow-test"


@dataclass
class Emulator:
    service: PubSubService
    publisher: pubsub_v1.PublisherClient
    subscriber: pubsub_v1.SubscriberClient
    _counter: list[int] = field(default_factory=lambda: [0])

    def name(self, kind: str) -> str:
        self._counter[0] += 1
        return f"{PROJECT}/{kind}/{kind[:-1]}-{self._counter[0]}"

    def topic(self, **kwargs: Any) -> str:
        return str(self.publisher.create_topic(request={"name": self.name("topics"), **kwargs}).name)

    def subscription(self, topic: str, **kwargs: Any) -> str:
        request = {"name": self.name("subscriptions"), "topic": topic, **kwargs}
        return str(self.subscriber.create_subscription(request=request).name)

    def pull(self, subscription: str, max_messages: int = 100) -> list[Any]:
        response = self.subscriber.pull(request={"subscription": subscription, "max_messages": max_messages})
        return list(response.received_messages)

    def restart(self) -> None:
        self.service.stop()
        self.service.start()


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
