"""The shape every emulated service has, so the registry can start and stop them alike, and the
context a service is given: everything it knows about the world it runs in. localgcp imports
nothing from any application; whoever starts it (the harness, a test) fills the context."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from localgcp.events import EventSink

#: every local listener binds here, never a public interface
LOOPBACK = "127.0.0.1"
#: the region a service reports (Firestore's location, Workflows' ``GOOGLE_CLOUD_LOCATION``)
#: when its starter names none
DEFAULT_REGION = "europe-west1"


@dataclass(frozen=True)
class ServiceContext:
    """What a service is given: where to listen (host is always 127.0.0.1), where to keep state,
    which project (and region) it answers for, and where its CloudEvents go."""

    host: str
    port: int  # 0 = pick a free port (tests)
    data_dir: Path
    project: str
    sink: EventSink
    region: str = DEFAULT_REGION
    #: the project number services report (``GOOGLE_CLOUD_PROJECT_NUMBER`` in Workflows); empty:
    #: a 12-digit number derived from the project id
    project_number: str = ""


class Service(Protocol):
    name: str

    def start(self) -> None:
        """Start serving in background threads; return once the port answers."""

    def stop(self) -> None:
        """Stop serving and flush state; idempotent."""

    @property
    def address(self) -> str:
        """``host:port`` actually bound (after start)."""
