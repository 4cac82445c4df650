"""The local Vertex AI as tests drive it: the project, the location, the running service's handle,
and the fixtures that start it.

* ``vertex``: a local Vertex AI service, the SDK pointed at it the way application code would be
  (``rillflow.vertex_client``); its global config is restored afterwards so no other test sees
  the local endpoint. Custom jobs are polled every 0.1 s instead of the SDK's 5 s.
* ``vertex_platform``: that service plus a local Cloud Storage, both exported as the stack exports
  them (``AIPLATFORM_EMULATOR_HOST``, ``STORAGE_EMULATOR_HOST``, so kfp.local's task processes and
  custom jobs find them too) and prepared as the stack prepares them (``harness.vertex``: the ML
  artifacts bucket, ``Endpoint.predict`` served by ``ml.serving.predictors``). It is what the
  application's registry (``ml.registry.get_registry``) needs, in every environment.

Test modules outside ``tests/localgcp_aiplatform`` import both names (pytest resolves
``vertex_platform``'s dependency on ``vertex`` by name); ``vertex`` is a service fixture
(``tests/support/tiers.py``), so their users are marked ``service``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from localgcp.services.aiplatform import AiPlatformService

PROJECT = "rillflow-test"
LOCATION = "europe-west1"
PARENT = f"projects/{PROJECT}/locations/{LOCATION}"


@dataclass
class Vertex:
    service: AiPlatformService
    home: Path

    def restart(self) -> None:
        self.service.stop()
        self.service.start()


@pytest.fixture
def vertex(monkeypatch: pytest.MonkeyPatch) -> Iterator[Vertex]:
    from google.cloud.aiplatform import initializer, jobs

    from localgcp.events import CollectingSink
    from localgcp.services.base import ServiceContext
    from rillflow.settings import get_settings
    from rillflow.vertex_client import use_local_vertex

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


@pytest.fixture
def vertex_platform(vertex: Vertex) -> Iterator[Vertex]:
    from harness.vertex import start_vertex
    from localgcp.events import CollectingSink
    from localgcp.services.base import ServiceContext
    from localgcp.services.storage import StorageService
    from rillflow.settings import get_settings

    storage = StorageService(
        ServiceContext("127.0.0.1", 0, vertex.home / "storage", PROJECT, CollectingSink())
    )
    storage.start()
    try:
        os.environ.update(
            STORAGE_EMULATOR_HOST=storage.url,
            AIPLATFORM_EMULATOR_HOST=vertex.service.address,
            GOOGLE_CLOUD_PROJECT=PROJECT,
            RILLFLOW_REGION=LOCATION,
        )
        get_settings.cache_clear()
        start_vertex({"aiplatform": vertex.service}, get_settings())
        yield vertex
    finally:
        storage.stop()
