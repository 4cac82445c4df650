"""The local Cloud Storage as the storage tests drive it: the running service, a client, event matchers.

``tests/localgcp_storage/conftest.py`` starts one per test (the ``gcs`` fixture); the tests import
the names here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudevents.http import CloudEvent
from google.cloud import storage

from localgcp.events import CollectingSink
from localgcp.services.storage import StorageService

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


def event_data(event: CloudEvent) -> dict[str, Any]:
    """The event's StorageObjectData JSON (a dict for every storage event)."""
    data = event.get_data()
    assert isinstance(data, dict)
    return data


def finalized(bucket: str, name: str, generation: int | None = None) -> Callable[[CloudEvent], bool]:
    def match(event: CloudEvent) -> bool:
        data = event_data(event)
        return (
            event["type"] == "google.cloud.storage.object.v1.finalized"
            and event["subject"] == f"objects/{name}"
            and event["bucket"] == bucket
            and (generation is None or data["generation"] == str(generation))
        )

    return match
