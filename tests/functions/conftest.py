"""Fixtures for the function tests: the ``functions/`` folder importable the way Cloud Functions
imports it, the client seam filled with in-memory fakes, and functions-framework test clients."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
if str(FUNCTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS_DIR))

from rillflow_functions import clients  # noqa: E402

from tests.functions import fakes  # noqa: E402


class Ports:
    def __init__(self) -> None:
        self.documents = fakes.InMemoryDocuments()
        self.lake = fakes.InMemoryBucket("rillflow-lake")
        self.publisher = fakes.RecordingPublisher()
        self.workflows = fakes.RecordingWorkflows()
        self.startups_api = fakes.ScriptedStartupsApi(records=[])
        self.generators: Any = None

    def install(self) -> None:
        clients.install(
            documents=self.documents,
            lake=self.lake,
            publisher=self.publisher,
            workflows=self.workflows,
            startups_api=self.startups_api,
            generators=self.generators,
        )


@pytest.fixture
def ports() -> Iterator[Ports]:
    p = Ports()
    p.install()
    yield p
    clients.reset()


@pytest.fixture
def app_client() -> Any:
    """``app_client("target")`` -> a Flask test client serving ``functions/main.py``'s entry point."""
    import functions_framework

    def make(target: str) -> Any:
        return functions_framework.create_app(target, str(FUNCTIONS_DIR / "main.py")).test_client()

    return make
