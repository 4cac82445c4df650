"""`rillflow dataform run` without `--vars run_date`: the day the local stack replayed last, else today,
and it says which."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from click.testing import CliRunner

import harness.dataform
from harness.dataform import RunResult
from rillflow.cli import main
from tests.cli.test_ml_hints import record_replayed_days


@pytest.fixture
def seen_vars(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """Replace the Dataform run (compile + DuckDB) by one that records the vars it was given."""
    seen: list[dict[str, str]] = []

    def fake_run(project_dir: Any, **kwargs: Any) -> RunResult:
        seen.append(dict(kwargs["vars"]))
        return RunResult(run_id="r", started_at="now")

    monkeypatch.setattr(harness.dataform, "run", fake_run)
    return seen


def test_without_a_replay_it_is_today(seen_vars: list[dict[str, str]]) -> None:
    result = CliRunner().invoke(main, ["dataform", "run", "--tags", "daily"])
    assert result.exit_code == 0, result.output
    today = datetime.now(UTC).date().isoformat()
    assert seen_vars == [{"run_date": today}]
    assert result.output.startswith(f"run_date={today}: today (UTC): no replayed day is recorded")


def test_after_a_replay_it_is_the_last_replayed_day(seen_vars: list[dict[str, str]]) -> None:
    record_replayed_days(date(2026, 1, 1), 7)
    result = CliRunner().invoke(main, ["dataform", "run", "--vars", "check_window_days=3"])
    assert result.exit_code == 0, result.output
    assert seen_vars == [{"check_window_days": "3", "run_date": "2026-01-07"}]
    assert result.output.startswith(
        "run_date=2026-01-07: the day the local stack replayed last (choose with --vars run_date=YYYY-MM-DD)"
    )


def test_an_explicit_run_date_is_used_silently(seen_vars: list[dict[str, str]]) -> None:
    record_replayed_days(date(2026, 1, 1), 7)
    result = CliRunner().invoke(main, ["dataform", "run", "--vars", "run_date=2026-01-03"])
    assert result.exit_code == 0, result.output
    assert seen_vars == [{"run_date": "2026-01-03"}] and "run_date=" not in result.output
