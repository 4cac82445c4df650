"""The replay the end-to-end comparisons share: run once per session (``tests/e2e/conftest.py``).

Two days with every flow and the app-event stream: Thursday 1 January 2026 and Friday 2 January,
when the startups full load lands and the first weekly pipeline runs. ``test_rerun_days`` compares
replaying days again with it, ``test_backfill`` a backfill of the same days.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.testing import running_stack
from rillflow.commands.run import replay
from rillflow.settings import get_settings
from tests.support.state import documents, lake_objects, snapshot

FIRST_DAY = date(2026, 1, 1)
DAYS = 2
EVENTS_PER_DAY = 1_500


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


def state() -> dict[str, Any]:
    """Everything the comparisons look at: lake by folder and by object, manifests, documents, warehouse."""
    taken = snapshot()
    return {**taken, "objects": lake_objects(get_settings().lake_dir), "documents": documents()}


def replay_once(home: Path, first_day: date = FIRST_DAY, days: int = DAYS) -> dict[str, Any]:
    """Replay the days on a fresh stack under ``home``; the state it leaves (and ``home``, where a
    later stack can start again on that state)."""
    with running_stack(home):
        outcome = replay(get_settings(), first_day, days, EVENTS_PER_DAY, quiet())
        assert outcome.report is not None and all(c.ok for c in outcome.counts), [
            c.line() for c in outcome.counts
        ]
        return {**state(), "home": home}
