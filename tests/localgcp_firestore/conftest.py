"""Start the local Firestore in-process on a free port; tests talk to it only through the client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud import firestore

from localgcp.events import CollectingSink
from localgcp.services.base import ServiceContext
from localgcp.services.firestore import FirestoreService
from tests.support.firestore import PROJECT, Emulator


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    sink = CollectingSink()
    ctx = ServiceContext(
        host="127.0.0.1", port=0, data_dir=tmp_path / "firestore", project=PROJECT, sink=sink
    )
    service = FirestoreService(ctx, location="europe-west1")
    service.start()
    try:
        yield Emulator(service, sink, ctx)
    finally:
        service.stop()


@pytest.fixture
def db(emulator: Emulator) -> firestore.Client:
    return emulator.client()
