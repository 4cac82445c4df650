"""`rillflow dataform compile|run` and `rillflow sql` end to end on a tiny lake."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rillflow.commands.dataform import dataform_group, sql_command
from tests.dataform.lake import sale, write_sales
from tests.support.dataform import PROJECT_DIR, TEST_VARS


def test_compile_run_and_sql(lake: Path) -> None:
    write_sales(lake, "2024-01-08", [sale("o1", 1, "2024-01-08T10:00:00", "c1", unit_price=12.5)])
    runner = CliRunner()
    var_args = [arg for k, v in TEST_VARS.items() for arg in ("--vars", f"{k}={v}")]
    compiled = runner.invoke(dataform_group, ["compile", "--project-dir", str(PROJECT_DIR), *var_args])
    assert compiled.exit_code == 0, compiled.output
    assert "tables:" in compiled.output and "assertions:" in compiled.output
    ran = runner.invoke(
        dataform_group,
        [
            "run",
            "--project-dir",
            str(PROJECT_DIR),
            "--actions",
            "fct_sales",
            "--include-deps",
            "--full-refresh",
            *var_args,
        ],
    )
    assert ran.exit_code == 0, ran.output
    assert "marts.fct_sales" in ran.output and "success" in ran.output
    shown = runner.invoke(sql_command, ["SELECT order_id, unit_price FROM marts.fct_sales"])
    assert shown.exit_code == 0, shown.output
    assert "o1" in shown.output and "12.5" in shown.output
