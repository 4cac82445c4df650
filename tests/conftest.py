"""Shared fixtures and hooks: every test gets its environment back and a private RILLFLOW_HOME;
tests that start services or a browser are marked for the tiers (``tests/README.md``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rillflow.settings import get_settings
from tests.support.tiers import BROWSER_FIXTURES, SERVICE_FIXTURES

#: property-based tests, marked ``fuzz`` (out of the fast tier)
FUZZ_DIR = Path(__file__).resolve().parent / "fuzz"


@pytest.fixture(autouse=True)
def _restore_environment(tmp_path: Path) -> Iterator[None]:
    """Snapshot os.environ, point RILLFLOW_HOME at a temp dir, and restore both afterwards."""
    saved = dict(os.environ)
    os.environ["RILLFLOW_HOME"] = str(tmp_path / "rillflow-home")
    get_settings.cache_clear()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``service`` every test that uses (directly or through another fixture) a fixture
    starting a local service or Google's emulators, ``browser`` every test driving Chromium, and
    ``fuzz`` every test under ``tests/fuzz/``, so ``make test-fast`` (``-m "not service and …"``)
    leaves them out without a hand-kept list."""
    for item in items:
        if FUZZ_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.fuzz)
        used = set(getattr(item, "fixturenames", ()))
        if used & SERVICE_FIXTURES:
            item.add_marker(pytest.mark.service)
        if used & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)


pytest_plugins = ["harness.testing"]
