"""Assertions fail the run with the offending rows; the row-count reconciliation catches a lost row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from rillflow.commands.dataform import dataform_group
from rillflow.settings import Settings
from rillflow.warehouse import DuckDBWarehouse
from tests.dataform.lake import sale, write_sales
from tests.support.dataform import PROJECT_DIR, TEST_VARS


def _vars_args() -> list[str]:
    return [arg for k, v in TEST_VARS.items() for arg in ("--vars", f"{k}={v}")]


def test_duplicate_key_fails_the_run_and_shows_rows(lake: Path, run_dataform: Callable[..., Any]) -> None:
    write_sales(lake, "2024-01-08", [sale("o1", 1, "2024-01-08T10:00:00", "c1")])
    write_sales(
        lake, "2024-01-09", [sale("o1", 1, "2024-01-08T10:00:00", "c1")]
    )  # the same line, exported twice
    result = run_dataform(
        check=False,
        actions=["stg_sales__order_lines", "assert_stg_sales__order_lines__keys"],
        include_dependencies=True,
    )
    assert not result.ok
    failed = result.action("assert_stg_sales__order_lines__keys")
    assert failed.status == "failed" and failed.rows == 1
    assert failed.failing_rows == [
        {"order_id": "o1", "line_no": 1, "copies": 2, "problem": "duplicate natural key"}
    ]
    assert "duplicate natural key" in result.describe_failures()

    cli = CliRunner().invoke(
        dataform_group,
        [
            "run",
            "--project-dir",
            str(PROJECT_DIR),
            "--actions",
            "assert_stg_sales__order_lines__keys",
            *_vars_args(),
        ],
    )
    assert cli.exit_code == 1
    assert "'order_id': 'o1'" in cli.output and "failed" in cli.output


def test_reconciliation_detects_a_row_lost_between_staging_and_mart(
    lake: Path, settings: Settings, run_dataform: Callable[..., Any]
) -> None:
    write_sales(
        lake,
        "2024-01-08",
        [sale("o1", 1, "2024-01-08T10:00:00", "c1"), sale("o2", 1, "2024-01-08T11:00:00", "c2")],
    )
    checks = ["assert_fct_sales__reconciliation", "assert_stg_sales__order_lines__reconciliation"]
    run_dataform(actions=["fct_sales", *checks], include_dependencies=True)
    DuckDBWarehouse(settings.warehouse_path).execute("DELETE FROM marts.fct_sales WHERE order_id = 'o2'")
    result = run_dataform(check=False, actions=checks)
    assert result.action("assert_stg_sales__order_lines__reconciliation").status == "success"
    lost = result.action("assert_fct_sales__reconciliation")
    assert lost.status == "failed"
    assert [(r["staged_rows"], r["mart_rows"]) for r in lost.failing_rows] == [(2, 1)]


def test_failed_upstream_skips_dependents_and_run_log_is_written(
    lake: Path, run_dataform: Callable[..., Any]
) -> None:
    bad = lake / "bronze" / "sales" / "dt=2024-01-08"
    bad.mkdir(parents=True)
    (bad / "part-00000.parquet").write_bytes(b"not parquet")
    result = run_dataform(check=False, actions=["fct_sales"], include_dependencies=True)
    source = result.action("bronze.sales_lines")
    assert source.status == "failed" and "Parquet" in source.error
    skipped = result.action("fct_sales")
    assert skipped.status == "skipped" and "upstream failed" in skipped.error
    assert result.log_path is not None and result.log_path.exists()
    assert '"ok": false' in result.log_path.read_text()
