"""The one seam between the function logic and the outside world.

Entry points ask this module for their ports (``documents()``, ``lake()``, ...). Each is built
lazily, once per process, over the official Google client library; the libraries find the local
emulators themselves through ``FIRESTORE_EMULATOR_HOST`` / ``STORAGE_EMULATOR_HOST`` /
``PUBSUB_EMULATOR_HOST``. Tests replace any port with :func:`install` and undo it with
:func:`reset`: no ``if local:`` branch anywhere in the logic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

from rillflow_functions.ports import (
    DocumentStore,
    Generators,
    MessagePublisher,
    ObjectStore,
    StartupsApi,
    WorkflowLauncher,
)

T = TypeVar("T")
_lock = threading.Lock()
_instances: dict[str, Any] = {}
_PORTS = ("documents", "lake", "publisher", "workflows", "startups_api", "generators")


def _get(name: str, factory: Callable[[], T]) -> T:
    with _lock:
        if name not in _instances:
            _instances[name] = factory()
        return cast(T, _instances[name])


def install(**ports: Any) -> None:
    """Use these implementations instead of the Google-backed ones (tests, local wiring)."""
    unknown = set(ports) - set(_PORTS)
    if unknown:
        raise KeyError(f"unknown ports {sorted(unknown)}; known: {_PORTS}")
    with _lock:
        _instances.update(ports)


def reset() -> None:
    """Forget every instance; the next call builds fresh ones."""
    with _lock:
        _instances.clear()


def documents() -> DocumentStore:
    from rillflow_functions import gcp_adapters

    return _get("documents", gcp_adapters.make_document_store)


def lake() -> ObjectStore:
    """The lake bucket (``settings.lake_bucket``)."""
    from rillflow_functions import gcp_adapters

    return _get("lake", gcp_adapters.make_lake_store)


def publisher() -> MessagePublisher:
    from rillflow_functions import gcp_adapters

    return _get("publisher", gcp_adapters.make_publisher)


def workflows() -> WorkflowLauncher:
    from rillflow_functions import gcp_adapters

    return _get("workflows", gcp_adapters.make_workflow_launcher)


def startups_api() -> StartupsApi:
    from rillflow_functions import gcp_adapters

    return _get("startups_api", gcp_adapters.make_startups_api)


def generators() -> Generators:
    from rillflow_functions import generator_source

    return _get("generators", generator_source.make_generators)
