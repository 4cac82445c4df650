"""A StorageService per test (it starts in ~0.1 s), driven only through google.cloud.storage."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localgcp.events import CollectingSink
from localgcp.services.base import ServiceContext
from localgcp.services.storage import StorageService
from rillflow.settings import get_settings
from tests.support.gcs import PROJECT, Running, make_client


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
