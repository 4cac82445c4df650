"""The shape every emulated service has, so the registry can start and stop them alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from localgcp.events import EventSink


@dataclass(frozen=True)
class ServiceContext:
    """What a service is given: where to listen (host is always 127.0.0.1), where to keep state,
    which project it answers for, and where its CloudEvents go."""

    host: str
    port: int  # 0 = pick a free port (tests)
    data_dir: Path
    project: str
    sink: EventSink


class Service(Protocol):
    name: str

    def start(self) -> None:
        """Start serving in background threads; return once the port answers."""

    def stop(self) -> None:
        """Stop serving and flush state; idempotent."""

    @property
    def address(self) -> str:
        """``host:port`` actually bound (after start)."""
