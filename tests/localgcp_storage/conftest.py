"""A StorageService per test (it starts in ~0.1 s), driven only through google.cloud.storage."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cloudevents.http import CloudEvent
from google.cloud import storage

from localgcp.events import CollectingSink
from localgcp.services.base import ServiceContext
from localgcp.services.storage import StorageService
from rillflow.settings import get_settings

PROJECT = "rillflow-test"


@dataclass
class Running:
    service: StorageService
    sink: CollectingSink
    client: storage.Client
    home: Path

    def wait_for(self, predicate: Callable[[CloudEvent], bool], timeout: float = 10.0) -> CloudEvent:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.sink.events):
                if predicate(event):
                    return event
            time.sleep(0.01)
        raise AssertionError(
            f"no matching event within {timeout}s; got {[e['type'] for e in self.sink.events]}"
        )

    def restart(self) -> None:
        self.service.stop()
        self.service.start()


def make_client(service: StorageService) -> storage.Client:
    os.environ["STORAGE_EMULATOR_HOST"] = service.url
    return storage.Client(project=PROJECT)  # exactly what application code does


@pytest.fixture
def gcs() -> Iterator[Running]:
    home = get_settings().home
    sink = CollectingSink()
    service = StorageService(ServiceContext("127.0.0.1", 0, home / "storage", PROJECT, sink))
    service.start()
    try:
        yield Running(service, sink, make_client(service), home)
    finally:
        service.stop()


def _data(event: CloudEvent) -> dict[str, Any]:
    """The event's StorageObjectData JSON (a dict for every storage event)."""
    data = event.get_data()
    assert isinstance(data, dict)
    return data


def finalized(bucket: str, name: str, generation: int | None = None) -> Callable[[CloudEvent], bool]:
    def match(event: CloudEvent) -> bool:
        data = _data(event)
        return (
            event["type"] == "google.cloud.storage.object.v1.finalized"
            and event["subject"] == f"objects/{name}"
            and event["bucket"] == bucket
            and (generation is None or data["generation"] == str(generation))
        )

    return match
