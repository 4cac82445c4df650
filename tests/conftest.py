"""Shared fixtures: every test gets its environment back and a private RILLFLOW_HOME."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rillflow.settings import get_settings


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


pytest_plugins = ["localgcp.testing"]
