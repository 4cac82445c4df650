"""The CLI's error policy: an expected error is one line on stderr and an exit code; the traceback
only with --debug (or RILLFLOW_DEBUG=1)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import click
import duckdb
import pytest
import requests
from click.testing import CliRunner, Result

from rillflow.cli import RillflowGroup, main
from rillflow.commands.errors import LOCAL_STACK_DOWN, debug_option
from rillflow.settings import get_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _one_line_error(result: Result, exit_code: int) -> str:
    """The single ``Error: …`` line on stderr, after checking the exit code and that no traceback shows."""
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.fixture
def warehouse() -> Path:
    path = get_settings().warehouse_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE SCHEMA bi; CREATE TABLE bi.bi_daily_revenue (order_date DATE, revenue_usd DOUBLE)"
        )
    return path


def test_unknown_table_is_one_line_with_duckdbs_hint(warehouse: Path) -> None:
    result = CliRunner().invoke(main, ["sql", "SELECT * FROM bi.no_such_table"])
    line = _one_line_error(result, 2)
    assert line == (
        "Error: the query failed: Catalog Error: Table with name no_such_table does not exist! "
        'Did you mean "bi_daily_revenue"?'
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELEC 1", 'Parser Error: syntax error at or near "SELEC"'),
        ("SELECT nope FROM bi.bi_daily_revenue", 'Binder Error: Referenced column "nope" not found'),
    ],
)
def test_bad_queries_are_bad_input(warehouse: Path, query: str, expected: str) -> None:
    line = _one_line_error(CliRunner().invoke(main, ["sql", query]), 2)
    assert expected in line and "LINE 1" not in line


def test_debug_shows_the_traceback(warehouse: Path) -> None:
    for args, env in (
        (["--debug", "sql", "SELECT * FROM bi.no_such_table"], {}),
        (["sql", "SELECT * FROM bi.no_such_table"], {"RILLFLOW_DEBUG": "1"}),
    ):
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == 2
        assert "Traceback (most recent call last)" in result.stderr
        assert "duckdb" in result.stderr.lower() and "CatalogException" in result.stderr
        assert result.stderr.rstrip().splitlines()[-1].startswith("Error: the query failed: Catalog Error")


def test_no_warehouse_yet_says_what_to_run() -> None:
    line = _one_line_error(CliRunner().invoke(main, ["sql", "SELECT 1"]), 1)
    assert f"there is no warehouse yet ({get_settings().warehouse_path})" in line
    assert "`rillflow run`" in line
    assert not get_settings().warehouse_path.exists()  # not created by asking


def test_stack_down_says_how_to_start_it() -> None:
    os.environ["RILLFLOW_PORT_WORKFLOWS"] = str(_free_port())
    get_settings.cache_clear()
    line = _one_line_error(CliRunner().invoke(main, ["workflows", "list"]), 1)
    assert line == f"Error: {LOCAL_STACK_DOWN}"
    debug = CliRunner().invoke(main, ["--debug", "workflows", "list"])
    assert debug.exit_code == 1 and "ServiceUnavailable" in debug.stderr and "Traceback" in debug.stderr


@click.group(cls=RillflowGroup)
@debug_option
def probe(debug: bool) -> None:
    """A group under the CLI's policy, with commands that fail in known ways."""


@probe.command("connect")
def connect() -> None:
    requests.get(f"http://127.0.0.1:{_free_port()}/healthz", timeout=2)


@probe.command("interrupt")
def interrupt() -> None:
    raise KeyboardInterrupt


@probe.command("bug")
def bug() -> None:
    raise RuntimeError("a bug keeps its traceback")


def test_a_refused_http_connection_is_the_stack_down() -> None:
    line = _one_line_error(CliRunner().invoke(probe, ["connect"]), 1)
    assert line == f"Error: {LOCAL_STACK_DOWN}"


def test_interrupt_prints_interrupted_and_exits_130() -> None:
    result = CliRunner().invoke(probe, ["interrupt"])
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted" and "Aborted" not in result.output
    assert "Traceback" in CliRunner().invoke(probe, ["--debug", "interrupt"]).stderr


def test_an_unexpected_error_is_not_hidden() -> None:
    result = CliRunner().invoke(probe, ["bug"])
    assert isinstance(result.exception, RuntimeError) and result.exit_code == 1


def test_usage_errors_keep_clicks_exit_code() -> None:
    result = CliRunner().invoke(main, ["generate", "--date", "2026-13-01", "--out", "x"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Error: Invalid value for '--date': 2026-13-01 is not a valid date: month must be in 1..12" in (
        result.stderr
    )


@pytest.mark.slow  # runs the installed command in a subprocess
def test_the_installed_command_prints_one_line(warehouse: Path) -> None:
    """The real entry point (not CliRunner): stderr, exit status and no traceback."""
    proc = subprocess.run(
        [sys.executable, "-c", "from rillflow.cli import main; main()", "sql", "SELECT * FROM bi.nope"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RILLFLOW_HOME": str(get_settings().home)},
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith(
        "Error: the query failed: Catalog Error: Table with name nope does not exist!"
    )
    assert len(proc.stderr.strip().splitlines()) == 1
