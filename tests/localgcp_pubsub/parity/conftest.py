"""The Pub/Sub parity tier: every test here runs against two backends through google-cloud-pubsub.

``localgcp``: the local Pub/Sub, in-process on a free port (as ``tests/localgcp_pubsub`` starts
it). ``google``: Google's Pub/Sub emulator (``gcloud beta emulators pubsub start``), started once
on a free 127.0.0.1 port and killed when the tier ends (package scope). Each test gets clients on
a project of its own, so tests share a backend without seeing each other's resources.

Without ``gcloud`` or ``java`` on PATH (or when the emulator does not come up) the ``google`` half
is skipped with the reason, unless ``RILLFLOW_REQUIRE_GOOGLE_EMULATORS=1`` makes that a failure.

Where the backends disagree, Google's emulator is the reference, unless the real service is
documented otherwise; such tests say so and assert each side's behaviour. Google's emulator
waits seconds in an empty unary Pull, so "nothing more to deliver" is checked with
``return_immediately`` (:meth:`Project.pull_now`), and messages are awaited by polling.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.cloud import pubsub_v1

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.pubsub import PubSubService
from tests.support.google_emulators import GOOGLE, LOCALGCP, Backend, google_emulator

# what the local service reads at request time: short empty pulls, 1 s ack deadlines allowed
# (Google's emulator accepts them without a setting; the real service's minimum is 10 s)
_LOCAL_TUNING = {"LOCALGCP_PUBSUB_PULL_WAIT_S": "0.3", "LOCALGCP_PUBSUB_MIN_ACK_DEADLINE_S": "1"}


@pytest.fixture(scope="package")
def google_pubsub_emulator() -> Iterator[Backend]:
    yield from google_emulator(
        "Pub/Sub", ["beta", "emulators", "pubsub", "start"], "Server started, listening on"
    )


@pytest.fixture(scope="package")
def localgcp_pubsub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    saved = {key: os.environ.get(key) for key in _LOCAL_TUNING}
    os.environ.update(_LOCAL_TUNING)
    data_dir: Path = tmp_path_factory.mktemp("parity-pubsub")
    service = PubSubService(ServiceContext("127.0.0.1", 0, data_dir, "rillflow-parity", NullSink()))
    service.start()
    try:
        yield Backend(LOCALGCP, service.address)
    finally:
        service.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="package", params=[LOCALGCP, GOOGLE])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == GOOGLE:
        return request.getfixturevalue("google_pubsub_emulator")
    return request.getfixturevalue("localgcp_pubsub")


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


@pytest.fixture
def project(backend: Backend) -> Iterator[Project]:
    """Clients of ``backend`` (through ``PUBSUB_EMULATOR_HOST``) on a project of this test's own."""
    os.environ["PUBSUB_EMULATOR_HOST"] = backend.host
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    schemas = pubsub_v1.SchemaServiceClient()
    try:
        yield Project(backend, f"projects/parity-{uuid.uuid4().hex[:12]}", publisher, subscriber, schemas)
    finally:
        subscriber.close()
        publisher.stop()
