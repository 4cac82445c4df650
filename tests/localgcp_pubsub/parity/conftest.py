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
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud import pubsub_v1

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.pubsub import PubSubService
from tests.support.google_emulators import GOOGLE, LOCALGCP, Backend, google_emulator
from tests.support.pubsub_parity import Project

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
