"""The shared day type and the one app-event rate default."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rillflow.cli import main
from rillflow.commands.options import DAY, app_events_per_day_option
from rillflow.settings import Settings, get_settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-13-01", "2026-13-01 is not a valid date: month must be in 1..12"),
        ("2026-02-30", "2026-02-30 is not a valid date: day is out of range for month"),
        ("2026-1-1", "'2026-1-1' is not a day: write it as YYYY-MM-DD, e.g. 2026-01-01"),
        ("tomorrow", "'tomorrow' is not a day: write it as YYYY-MM-DD"),
    ],
)
def test_day_says_what_is_wrong(value: str, expected: str) -> None:
    with pytest.raises(click.BadParameter) as caught:
        DAY.convert(value, None, None)
    assert caught.value.message.startswith(expected)


def test_day_converts_to_a_date() -> None:
    assert DAY.convert("2026-02-28", None, None) == date(2026, 2, 28)
    assert DAY.convert(date(2026, 1, 1), None, None) == date(2026, 1, 1)
    assert DAY.convert(datetime(2026, 1, 1, 5), None, None) == date(2026, 1, 1)


@click.command()
@app_events_per_day_option()
def rate(app_events_per_day: int) -> None:
    click.echo(app_events_per_day)


def test_one_app_event_default_read_from_the_settings() -> None:
    assert Settings().app_events_per_day == 20_000
    assert CliRunner().invoke(rate, []).output == "20000\n"
    os.environ["RILLFLOW_APP_EVENTS_PER_DAY"] = "1234"
    get_settings.cache_clear()
    assert CliRunner().invoke(rate, []).output == "1234\n"
    assert CliRunner().invoke(rate, ["--app-events-per-day", "0"]).output == "0\n"
    bad = CliRunner().invoke(rate, ["--app-events-per-day", "-1"])
    assert bad.exit_code == 2


def test_generate_uses_the_shared_rate(tmp_path: Path) -> None:
    os.environ["RILLFLOW_APP_EVENTS_PER_DAY"] = "200"
    get_settings.cache_clear()
    result = CliRunner(env={"COLUMNS": "200"}).invoke(
        main, ["generate", "--date", "2026-01-05", "--out", str(tmp_path / "a")]
    )
    assert result.exit_code == 0, result.output
    app_events = next(line for line in result.output.splitlines() if "app_events" in line)
    assert 100 < int(app_events.split()[-2].replace(",", "")) < 300, app_events
    none = CliRunner().invoke(
        main, ["generate", "--date", "2026-01-05", "--out", str(tmp_path / "b"), "--app-events-per-day", "0"]
    )
    assert none.exit_code == 0, none.output
    assert not (tmp_path / "b" / "lake").exists()
