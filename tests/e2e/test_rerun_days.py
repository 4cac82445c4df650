"""End to end: replaying days that already ran ends exactly as one replay.

One stack replays two days with every flow and the app-event stream, is asked for them again
(the completed days are skipped), then replays them again with ``force`` (the same events are
published again, each day's pipeline runs again). A second stack replays the days once. The lake
(every object's content), the load manifests and every warehouse table must be the same in both.

Two days, not one: the startups full load lands at the second day's 01:00 beside the first day's
clickstream, after the first day's pipeline has run; re-running that first day later sees it
(as a re-run in the cloud would), and only the second day's pipeline makes both runs agree.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from harness.testing import running_stack
from rillflow.commands.run import ReplayOutcome, replay
from rillflow.settings import get_settings
from tests.support.replayed import DAYS, EVENTS_PER_DAY, FIRST_DAY, quiet
from tests.support.state import snapshot

#: three replays of two days on one stack, one on another: minutes on a busy 2-core machine
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]


def _replay(force: bool = False) -> ReplayOutcome:
    outcome = replay(get_settings(), FIRST_DAY, DAYS, EVENTS_PER_DAY, quiet(), force)
    if outcome.report is not None:
        assert all(c.ok for c in outcome.counts), [c.line() for c in outcome.counts]
    return outcome


@pytest.fixture(scope="module")
def twice(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with running_stack(tmp_path_factory.mktemp("rerun-twice")):
        first = _replay()
        assert first.report is not None and not first.plan.rerun
        again = _replay()
        forced = _replay(force=True)
        return {"again": again, "forced": forced, "state": snapshot()}


@pytest.fixture(scope="module")
def once(replayed_once: dict[str, Any]) -> dict[str, Any]:
    """The days replayed once, on another stack (shared with ``test_backfill``)."""
    return replayed_once


def test_asking_again_for_a_completed_day_skips_it(twice: dict[str, Any]) -> None:
    again: ReplayOutcome = twice["again"]
    assert again.report is None and again.plan.days == 0
    assert again.plan.skipped == [FIRST_DAY, FIRST_DAY + timedelta(days=1)]
    assert "already ran" in " ".join(again.plan.describe())


def test_a_forced_replay_reruns_the_days_pipeline(twice: dict[str, Any]) -> None:
    forced: ReplayOutcome = twice["forced"]
    assert forced.report is not None and len(forced.plan.rerun) == DAYS
    assert {run.state for run in forced.plan.rerun.values()} == {"SUCCEEDED"}


@pytest.mark.parametrize("part", ["lake", "manifests", "warehouse"])
def test_replaying_a_day_twice_equals_replaying_it_once(
    twice: dict[str, Any], once: dict[str, Any], part: str
) -> None:
    twice_state, once_state = twice["state"][part], once[part]
    assert sorted(twice_state) == sorted(once_state)
    differ = [key for key in once_state if twice_state[key] != once_state[key]]
    assert differ == [], f"{part}: differs after a replay of days that already ran: {differ}"
