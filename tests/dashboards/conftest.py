"""The dashboard tests' warehouses and a running app (``rillflow dashboards serve`` in a subprocess)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rillflow.warehouse import DuckDBWarehouse
from tests.dashboards.running import RunningApp, home_with, start_app, stop_app
from tests.dashboards.warehouse import build_warehouse


@pytest.fixture(scope="session")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``full``: with the ML write-backs; ``pre_ml``: before any model has scored."""
    root = tmp_path_factory.mktemp("dashboards-warehouses")
    return {
        "full": build_warehouse(root / "full.duckdb"),
        "pre_ml": build_warehouse(root / "pre-ml.duckdb", predictions=False),
    }


@pytest.fixture
def warehouse(warehouses: dict[str, Path]) -> DuckDBWarehouse:
    return DuckDBWarehouse(warehouses["full"])


@pytest.fixture(scope="module")
def app(warehouses: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app over a copy of the full warehouse."""
    running = start_app(home_with(warehouses["full"], tmp_path_factory.mktemp("dashboards-home")))
    yield running
    stop_app(running)
