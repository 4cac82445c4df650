"""Dataform test fixtures: one compile per session (the CLI takes ~2 s), a fresh warehouse per test."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.dataform import RunResult, compile_project, run
from rillflow.settings import Settings, load_settings
from rillflow.warehouse import DuckDBWarehouse
from streaming.sinks import HOURLY_SCHEMA
from tests.support.dataform import PROJECT_DIR, TEST_VARS


@pytest.fixture(scope="session")
def compiled() -> dict[str, Any]:
    base = Settings()
    return compile_project(PROJECT_DIR, {"lake_bucket": base.lake_bucket, **TEST_VARS}, base.project)


@pytest.fixture
def settings(compiled: dict[str, Any]) -> Settings:
    """Settings on this test's RILLFLOW_HOME, with the streaming table the pipeline would have made."""
    s = load_settings()
    s.lake_dir.mkdir(parents=True, exist_ok=True)
    DuckDBWarehouse(s.warehouse_path).write("streaming", "app_events_hourly", HOURLY_SCHEMA.empty_table())
    return s


@pytest.fixture
def lake(settings: Settings) -> Path:
    return settings.lake_dir


@pytest.fixture
def run_dataform(settings: Settings) -> Callable[..., RunResult]:
    def _run(check: bool = True, **kwargs: Any) -> RunResult:
        result = run(PROJECT_DIR, settings, vars=TEST_VARS, **kwargs)
        if check:
            assert result.ok, result.describe_failures()
        return result

    return _run


@pytest.fixture
def query(settings: Settings) -> Callable[[str], list[dict[str, Any]]]:
    def _query(sql: str) -> list[dict[str, Any]]:
        with DuckDBWarehouse(settings.warehouse_path).connect(read_only=True) as con:
            con.execute("SET TimeZone = 'UTC'")
            cur = con.execute(sql)
            columns = [d[0] for d in cur.description]
            return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]

    return _query
