"""The one place that wires the emulated services: name → class, data directory, port.

Every service is built the same way from a :class:`ServiceContext`; the start order
matters only in that Pub/Sub comes first (others may publish to it).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from localgcp.events import EventSink
from localgcp.services.base import Service, ServiceContext
from rillflow.settings import LOOPBACK, Settings


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    cls: str
    #: attribute of :class:`rillflow.settings.Ports`
    port_name: str


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("pubsub", "localgcp.services.pubsub", "PubSubService", "pubsub"),
    ServiceSpec("firestore", "localgcp.services.firestore", "FirestoreService", "firestore"),
    ServiceSpec("storage", "localgcp.services.storage", "StorageService", "storage"),
    ServiceSpec("aiplatform", "localgcp.services.aiplatform", "AiPlatformService", "aiplatform"),
)


def data_dir(settings: Settings, name: str) -> Path:
    """Each service's state lives in ``RILLFLOW_HOME/<service>/``; the lake mirror in ``RILLFLOW_HOME/gcs/``."""
    path = settings.home / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_services(settings: Settings, sink: EventSink, free_ports: bool = False) -> dict[str, Service]:
    """Instantiate (not start) every service; ``free_ports`` binds port 0 (tests, parallel stacks)."""
    services: dict[str, Service] = {}
    for spec in SERVICES:
        cls = getattr(importlib.import_module(spec.module), spec.cls)
        port = 0 if free_ports else getattr(settings.ports, spec.port_name)
        ctx = ServiceContext(LOOPBACK, port, data_dir(settings, spec.name), settings.project, sink)
        services[spec.name] = cls(ctx)
    return services
