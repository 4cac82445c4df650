"""What `rillflow demo` decides before it runs (how many days) and how it sums up what ran."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from harness.reconcile import FlowCount
from rillflow.commands.demo import _ml_did, default_days, merge_counts, write_demo_record
from rillflow.commands.history import milestones


def test_the_default_history_trains_both_models_and_replays_no_friday() -> None:
    first = date(2026, 1, 1)
    days = default_days(first, 2)
    backfilled = days - 2
    assert backfilled >= max(m.days for m in milestones(first))  # the last backfilled day trains both
    replayed = [first + timedelta(days=backfilled + i) for i in range(2)]
    assert all(d.weekday() != 4 for d in replayed)  # a Friday's pipeline would retrain
    assert days == 74


def test_reconciliation_adds_up_the_backfill_and_the_replay() -> None:
    backfill = [FlowCount("sales", 10, 9, 1), FlowCount("app_events", 100, 100, 0)]
    replay = [FlowCount("sales", 3, 3, 0), FlowCount("app_events", 5, 4, 0)]
    merged = {c.flow: c for c in merge_counts(backfill, replay)}
    assert merged["sales"] == FlowCount("sales", 13, 12, 1) and merged["sales"].ok
    assert merged["app_events"] == FlowCount("app_events", 105, 104, 0) and not merged["app_events"].ok


def test_ml_outcomes_read_in_a_few_words() -> None:
    outputs = {
        "churn": {"rows": 1075, "model_version": "1", "gate": {"promote": True, "reason": "no champion yet"}},
        "forecast": {"skipped": True, "reason": "no champion yet: nothing to forecast with"},
    }
    assert _ml_did(outputs) == (
        "churn: v1 trained, 1,075 customers scored; forecast: skipped (no champion yet: nothing to forecast with)"
    )
    assert _ml_did({}) == "no outputs"


def test_the_demo_records_its_seconds(tmp_path: Path) -> None:
    path = write_demo_record(tmp_path, {"seconds": 299.0, "breakdown": {"backfill_s": 169.0}})
    assert json.loads(path.read_text())["seconds"] == 299.0 and path.name == "demo.json"
