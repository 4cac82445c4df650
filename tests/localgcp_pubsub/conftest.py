"""A PubSubService started in-process on a free port; tests talk to it only through google.cloud.pubsub_v1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud import pubsub_v1

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.pubsub import PubSubService
from tests.support.pubsub import Emulator


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
