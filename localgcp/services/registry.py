"""The one place that wires the emulated services: name → class, data directory, port.

Every service is built the same way from a :class:`ServiceContext`; the start order
matters only in that Pub/Sub comes first (others may publish to it).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from localgcp.events import EventSink
from localgcp.services.base import DEFAULT_REGION, LOOPBACK, Service, ServiceContext


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    cls: str
    #: the key of this service's port in :attr:`CloudConfig.ports`
    port_name: str


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("pubsub", "localgcp.services.pubsub", "PubSubService", "pubsub"),
    ServiceSpec("firestore", "localgcp.services.firestore", "FirestoreService", "firestore"),
    ServiceSpec("storage", "localgcp.services.storage", "StorageService", "storage"),
    ServiceSpec("aiplatform", "localgcp.services.aiplatform", "AiPlatformService", "aiplatform"),
)


@dataclass(frozen=True)
class CloudConfig:
    """The local cloud as its starter wants it: project, region, where state lives and the ports.

    A port missing from ``ports`` (or 0) is picked free at start."""

    project: str
    home: Path
    ports: Mapping[str, int]
    region: str = DEFAULT_REGION
    project_number: str = ""

    def context(self, name: str, sink: EventSink, port_name: str | None = None) -> ServiceContext:
        """The context of service ``name``: its state in ``home/<name>/``, its port from ``ports``."""
        return ServiceContext(
            LOOPBACK,
            int(self.ports.get(port_name or name, 0)),
            data_dir(self.home, name),
            self.project,
            sink,
            self.region,
            self.project_number,
        )


def data_dir(home: Path, name: str) -> Path:
    """Each service's state lives in ``home/<service>/``."""
    path = home / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_services(config: CloudConfig, sink: EventSink) -> dict[str, Service]:
    """Instantiate (not start) every service of :data:`SERVICES`."""
    services: dict[str, Service] = {}
    for spec in SERVICES:
        cls = getattr(importlib.import_module(spec.module), spec.cls)
        services[spec.name] = cls(config.context(spec.name, sink, spec.port_name))
    return services
