"""A PubSubService started in-process on a free port; tests talk to it only through google.cloud.pubsub_v1."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.cloud import pubsub_v1

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
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


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    os.environ["LOCALGCP_PUBSUB_PULL_WAIT_S"] = "0.3"
    os.environ["LOCALGCP_PUBSUB_MIN_ACK_DEADLINE_S"] = "1"
    service = PubSubService(ServiceContext("127.0.0.1", 0, tmp_path / "pubsub", "rillflow-test", NullSink()))
    service.start()
    os.environ["PUBSUB_EMULATOR_HOST"] = service.address
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    try:
        yield Emulator(service, publisher, subscriber)
    finally:
        subscriber.close()
        publisher.stop()
        service.stop()
