"""End to end: a backfill leaves the state a replay of the same days leaves.

One stack replays the days on the virtual clock (scheduler, functions, events, Pub/Sub and the
streaming drain, the daily workflow); another backfills them (``rillflow backfill``: the same code
in bulk, Dataform and ML once at the end). Compared object by object and table by table: every
lake object (bronze, quarantine, dead letters by name; a compacted app-events file by its folder,
since its name is a digest of object generations), the load manifests, the Firestore state of the
batch flows (orders and their validation flags, the sales ledger, the startups watermark, day
landings and claims) and every warehouse table and view. Left out, each with its reason in
``tests.support.state``: columns and fields that record processing time, object generations or
which execution ran a day; and a float a model rounds to 6 decimals may be one unit apart in the
last place (``FLOAT_TOLERANCE``: DuckDB sums a group in the order it reads the rows).

Two days in ``make test``, not the issue's ten: a replayed day costs about a minute on two cores
and the replay is shared with ``test_rerun_days`` (``tests/e2e/conftest.py``). The two are a plain
Thursday and Friday 2 January (the startups full load, the first weekly pipeline): the bulk
ledger, bronze manifests and claims, the backfill's hour files compacted against the stream's
minute files, and Dataform's full refresh against its daily incremental runs. The longer
comparison (a weekly delta load, many incremental days): ``RILLFLOW_BACKFILL_TEST_DAYS=10
.venv/bin/python -m pytest tests/e2e/test_backfill.py`` (about 8 minutes on two cores). A second
backfill of the same days is asked for too: it finds them complete and does nothing.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from harness.day_runs import BACKFILLED, day_runs_for
from harness.testing import running_stack
from rillflow.commands.backfill import BackfillOutcome, backfill
from rillflow.settings import get_settings
from tests.support import replayed as shared
from tests.support.state import differences, same_rows

FIRST_DAY = shared.FIRST_DAY
DAYS = int(os.environ.get("RILLFLOW_BACKFILL_TEST_DAYS", shared.DAYS))
#: a replayed day costs up to about a minute on a busy 2-core machine, and longer runs replay here
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(max(600, 120 * DAYS))]


@pytest.fixture(scope="module")
def replayed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if DAYS == shared.DAYS:
        state: dict[str, Any] = request.getfixturevalue("replayed_once")
        return state
    return shared.replay_once(tmp_path_factory.mktemp("replayed"), FIRST_DAY, DAYS)


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    with running_stack(tmp_path_factory.mktemp("backfilled")):
        settings = get_settings()
        outcome = backfill(settings, FIRST_DAY, DAYS, shared.EVENTS_PER_DAY, shared.quiet())
        state = shared.state()
        again = backfill(settings, FIRST_DAY, DAYS, shared.EVENTS_PER_DAY, shared.quiet())
        runs = day_runs_for(settings.project, settings.region, settings.workflows_host)
        claims = runs.find([FIRST_DAY])
        return {"outcome": outcome, "again": again, "state": state, "claims": claims}


def test_the_backfill_reconciles_every_flow(backfilled: dict[str, Any]) -> None:
    outcome: BackfillOutcome = backfilled["outcome"]
    assert outcome.report is not None
    assert [c.flow for c in outcome.counts] == ["sales", "clickstream", "startups", "app_events"]
    assert all(c.ok and c.generated > 0 for c in outcome.counts), [c.line() for c in outcome.counts]


def test_backfilled_days_are_complete_and_not_done_twice(backfilled: dict[str, Any]) -> None:
    again: BackfillOutcome = backfilled["again"]
    assert again.report is None and again.plan.days == 0
    assert len(again.plan.skipped) == DAYS
    assert backfilled["claims"][FIRST_DAY].state == BACKFILLED


@pytest.mark.parametrize("part", ["objects", "manifests", "documents", "warehouse"])
def test_a_backfill_leaves_what_a_replay_leaves(
    replayed: dict[str, Any], backfilled: dict[str, Any], part: str
) -> None:
    left, right = replayed[part], backfilled["state"][part]
    if part == "documents":
        differ = [f"{name}: {d}" for name in left for d in differences(left[name], right[name])]
    elif part == "warehouse":  # floats a model rounds to 6 decimals: see FLOAT_TOLERANCE
        differ = differences(left, right, same_rows)
    else:
        differ = differences(left, right)
    assert left and differ == [], f"{part}: the backfill differs from the replay: {differ}"
