"""A local Vertex AI service per test, driven only through google-cloud-aiplatform.

The SDK is pointed at it the way application code would be (``rillflow.vertex_client``); its
global config is restored afterwards so no other test sees the local endpoint. Custom jobs are
polled every 0.1 s instead of the SDK's 5 s.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from google.cloud.aiplatform import initializer, jobs

from localgcp.events import CollectingSink
from localgcp.services.aiplatform import AiPlatformService
from localgcp.services.base import ServiceContext
from rillflow.settings import get_settings
from rillflow.vertex_client import use_local_vertex
from tests.support.vertex import LOCATION, PROJECT, Vertex


@pytest.fixture
def vertex(monkeypatch: pytest.MonkeyPatch) -> Iterator[Vertex]:
    saved = copy.copy(vars(initializer.global_config))
    monkeypatch.setattr(jobs, "_JOB_WAIT_TIME", 0.1)
    home = get_settings().home
    service = AiPlatformService(
        ServiceContext("127.0.0.1", 0, home / "aiplatform", PROJECT, CollectingSink())
    )
    service.start()
    try:
        use_local_vertex(service.address, PROJECT, LOCATION)
        yield Vertex(service, home)
    finally:
        service.stop()
        vars(initializer.global_config).clear()
        vars(initializer.global_config).update(saved)
