"""Where emulated services send the CloudEvents that Eventarc would deliver.

Services call ``sink.emit(event)`` with a ``cloudevents.http.CloudEvent`` shaped exactly as
Eventarc sends it (type, source, subject, extension attributes, data). The event router
implements :class:`EventSink`; tests use :class:`CollectingSink`.
"""

from __future__ import annotations

import threading
from typing import Protocol

from cloudevents.http import CloudEvent


class EventSink(Protocol):
    def emit(self, event: CloudEvent) -> None: ...


class NullSink:
    """Discards events (a service started with no router)."""

    def emit(self, event: CloudEvent) -> None:
        return None


class CollectingSink:
    """Keeps every event in memory; thread-safe. For tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[CloudEvent] = []

    def emit(self, event: CloudEvent) -> None:
        with self._lock:
            self.events.append(event)

    def of_type(self, event_type: str) -> list[CloudEvent]:
        with self._lock:
            return [e for e in self.events if e["type"] == event_type]


class FanoutSink:
    """Sends each event to several sinks."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = list(sinks)

    def emit(self, event: CloudEvent) -> None:
        for sink in self.sinks:
            sink.emit(event)
