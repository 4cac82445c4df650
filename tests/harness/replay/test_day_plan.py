"""What a replay does about days that already ran (``harness.day_runs.plan_days``), and what an
interrupted one says."""

from __future__ import annotations

import io
import sys
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console

from harness.day_runs import CLAIMED, DAILY_RUNS, SUCCEEDED, DayRun, plan_days
from rillflow.commands.run import ReplayInterrupted, print_interrupted

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions"))
from rillflow_functions import day_completion  # noqa: E402

D = date(2026, 1, 1)


def _day(i: int) -> date:
    return D + timedelta(days=i)


def _run(i: int, state: str = SUCCEEDED) -> DayRun:
    return DayRun(_day(i), state, f"executions/{i}", {"date": _day(i).isoformat()})


def test_nothing_ran_means_nothing_skipped_or_rerun() -> None:
    plan = plan_days(D, 3, {}, force=False)
    assert (plan.first_day, plan.days, plan.skipped, plan.rerun) == (D, 3, [], {})
    assert plan.describe() == []


def test_completed_days_at_the_head_are_skipped_and_the_window_shifts() -> None:
    plan = plan_days(D, 5, {_day(0): _run(0), _day(1): _run(1)}, force=False)
    assert plan.skipped == [_day(0), _day(1)] and (plan.first_day, plan.days) == (_day(2), 3)
    assert plan.rerun == {}
    assert "2026-01-01 … 2026-01-02 already ran" in plan.describe()[0]


def test_all_days_complete_means_nothing_to_replay() -> None:
    plan = plan_days(D, 2, {_day(0): _run(0), _day(1): _run(1)}, force=False)
    assert plan.days == 0 and plan.describe()[-1] == "nothing to replay"


def test_an_unfinished_day_and_days_after_it_are_rerun() -> None:
    runs = {_day(0): _run(0), _day(1): _run(1, "FAILED"), _day(2): _run(2), _day(3): _run(3, CLAIMED)}
    plan = plan_days(D, 5, runs, force=False)
    assert plan.skipped == [_day(0)] and plan.first_day == _day(1) and plan.days == 4
    assert set(plan.rerun) == {_day(1), _day(2), _day(3)}
    assert "2026-01-02 FAILED" in plan.describe()[1]


def test_force_reruns_every_day_that_ran() -> None:
    plan = plan_days(D, 3, {_day(0): _run(0), _day(2): _run(2)}, force=True)
    assert plan.skipped == [] and plan.first_day == D and plan.days == 3
    assert set(plan.rerun) == {_day(0), _day(2)}


def test_the_claims_collection_is_the_one_the_function_writes() -> None:
    assert DAILY_RUNS == day_completion.DAILY_RUNS


def test_an_interrupted_replay_says_what_completed_and_that_rerunning_is_safe() -> None:
    out = io.StringIO()
    exc = ReplayInterrupted("2026-01-03 01:00 generate-clickstream-daily", [_day(0), _day(1)])
    print_interrupted(exc, "rillflow run --days 7", Console(file=out, width=200))
    text = out.getvalue()
    assert "Interrupted at 2026-01-03 01:00" in text and "2026-01-01 … 2026-01-02 (2 day(s)" in text
    assert "rillflow run --days 7 again is safe" in text
