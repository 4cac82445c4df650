"""End to end: replaying days that already ran ends exactly as one replay.

The shared replay (``replayed_once``: two days with every flow and the app-event stream on a
fresh stack) is the first run. A new stack is started on the state it left (its ``RILLFLOW_HOME``),
asked for the days again (the completed days are skipped), then made to replay them with ``force``
(the same events are published again, each day's pipeline runs again). The lake (every object's
content), the load manifests and every warehouse table must be those the first run left.

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

#: a forced replay of two days on a stack over the shared replay's state: minutes on a busy 2-core machine
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]


def _replay(force: bool = False) -> ReplayOutcome:
    outcome = replay(get_settings(), FIRST_DAY, DAYS, EVENTS_PER_DAY, quiet(), force)
    if outcome.report is not None:
        assert all(c.ok for c in outcome.counts), [c.line() for c in outcome.counts]
    return outcome


@pytest.fixture(scope="module")
def once(replayed_once: dict[str, Any]) -> dict[str, Any]:
    """The days replayed once (shared with ``test_backfill``): the state before the re-runs."""
    return replayed_once


@pytest.fixture(scope="module")
def twice(once: dict[str, Any]) -> dict[str, Any]:
    """A stack started again on the first run's home, asked again, then forced (after ``once``
    took its snapshot: the re-runs change that home)."""
    with running_stack(once["home"]):
        again = _replay()
        forced = _replay(force=True)
        return {"again": again, "forced": forced, "state": snapshot()}


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
