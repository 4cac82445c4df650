"""One real warehouse per session (tiny bronze lake → the real local Dataform → bi views), built pages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dashboards.build import build
from tests.dashboards.warehouse import build_warehouse, write_predictions


@pytest.fixture(scope="session")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``full``: with the ML write-backs; ``pre_ml``: the same warehouse before any model has scored."""
    home = tmp_path_factory.mktemp("rillflow-dashboards-home")
    settings = build_warehouse(home, predictions=False)
    pre_ml = home.parent / f"{home.name}-pre-ml.duckdb"
    shutil.copyfile(settings.warehouse_path, pre_ml)
    write_predictions(settings)
    return {"full": settings.warehouse_path, "pre_ml": pre_ml, "home": home}


@pytest.fixture(scope="session")
def pages(warehouses: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The three pages built from the full warehouse."""
    out = tmp_path_factory.mktemp("dashboards-full")
    build(out, warehouses["full"])
    return out
