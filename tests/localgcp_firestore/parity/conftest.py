"""The Firestore parity tier: every test here runs against two backends through the official client.

``localgcp``: the local Firestore, in-process on a free port (as ``tests/localgcp_firestore`` starts
it). ``google``: Google's Firestore emulator (``gcloud emulators firestore start``), started once
on a free 127.0.0.1 port and killed when the tier ends (package scope, so the JVM does not idle
beside the rest of the suite). Each test gets a client on a project of its own, so tests share a
backend without seeing each other's data.

Without ``gcloud`` or ``java`` on PATH (or when the emulator does not come up) the ``google`` half
is skipped with the reason, unless ``RILLFLOW_REQUIRE_GOOGLE_EMULATORS=1`` makes that a failure
(CI sets it: its machine has both).

Where the backends disagree, Google's emulator is the reference, unless the real service is
documented otherwise; such tests say so and assert each side's behaviour.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from localgcp.events import CollectingSink
from localgcp.services.base import ServiceContext
from localgcp.services.firestore import FirestoreService
from tests.support.google_emulators import GOOGLE, LOCALGCP, Backend, google_emulator


@pytest.fixture(scope="package")
def google_firestore_emulator() -> Iterator[Backend]:
    yield from google_emulator(
        "Firestore", ["emulators", "firestore", "start"], "Dev App Server is now running"
    )


@pytest.fixture(scope="package")
def localgcp_firestore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    data_dir: Path = tmp_path_factory.mktemp("parity-firestore")
    ctx = ServiceContext("127.0.0.1", 0, data_dir, "rillflow-parity", CollectingSink())
    service = FirestoreService(ctx, location="europe-west1")
    service.start()
    try:
        yield Backend(LOCALGCP, service.address)
    finally:
        service.stop()


@pytest.fixture(scope="package", params=[LOCALGCP, GOOGLE])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == GOOGLE:
        return request.getfixturevalue("google_firestore_emulator")
    return request.getfixturevalue("localgcp_firestore")


@pytest.fixture
def db(backend: Backend) -> Iterator[firestore.Client]:
    """A client of ``backend`` on a fresh project (project ids need at least 6 characters)."""
    os.environ["FIRESTORE_EMULATOR_HOST"] = backend.host
    client = firestore.Client(project=f"parity-{uuid.uuid4().hex[:12]}", credentials=AnonymousCredentials())
    try:
        yield client
    finally:
        client.close()
