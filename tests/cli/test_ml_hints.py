"""ML commands before any model exists: when the first one will, and how to get there."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from click.testing import CliRunner

from localgcp.services.workflows.store import ExecutionStore, store_path
from ml.registry import CHAMPION, Lineage, get_registry
from rillflow.cli import main
from rillflow.commands.history import (
    DAILY_WORKFLOW,
    churn_milestone,
    first_model_hint,
    forecaster_milestone,
    replayed,
    with_margin,
)
from rillflow.settings import get_settings
from tests.support.vertex import Vertex, vertex, vertex_platform

__all__ = ["vertex", "vertex_platform"]  # fixtures: the registry is Vertex AI's, locally too


def record_replayed_days(first: date, days: int) -> None:
    """What a replay leaves in the local Workflows service: one daily_pipeline execution per day."""
    store = ExecutionStore(store_path(get_settings().home))
    try:
        for k in range(days):
            day = (first + timedelta(days=k)).isoformat()
            name = f"projects/p/locations/l/workflows/{DAILY_WORKFLOW}/executions/{uuid.uuid4()}"
            store.insert(name, DAILY_WORKFLOW, "r1", json.dumps({"date": day, "weekly": False}))
            store.finish(name, "SUCCEEDED", result="{}")
    finally:
        store.close()


def test_first_training_days_follow_the_readiness_rules() -> None:
    assert forecaster_milestone().days == 37  # 888 hours at the one-week horizon
    assert churn_milestone(date(2026, 1, 1)).days == 69  # 2026-03-10: ml.churn.readiness.first_training_day
    assert churn_milestone(date(2026, 1, 4)).days == 66  # starting on a Sunday: 3 days sooner
    assert with_margin(69) == 70 and with_margin(37) == 40 and with_margin(60) == 70


def test_replayed_days_come_from_the_workflow_executions() -> None:
    assert replayed(get_settings()) is None
    record_replayed_days(date(2026, 1, 1), 7)
    record_replayed_days(date(2026, 1, 3), 1)  # a re-run of the 3rd, most recent
    history = replayed(get_settings())
    assert history is not None
    assert (history.first, history.last, history.latest, history.days) == (
        date(2026, 1, 1),
        date(2026, 1, 7),
        date(2026, 1, 3),
        7,
    )


def test_serve_without_any_model_says_when_one_will_exist(vertex_platform: Vertex) -> None:
    result = CliRunner().invoke(main, ["ml", "serve"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.strip() == (
        "Error: model 'churn_classifier' has no version with alias 'champion', nor any other yet: "
        "the churn model first trains after ~69 days of history (weekly snapshots labelled "
        "over the 30-day churn horizon); nothing has been replayed yet: "
        "`rillflow backfill --from 2026-01-01 --days 70` (minutes)"
    )


def test_serve_after_a_week_says_how_to_continue(vertex_platform: Vertex) -> None:
    record_replayed_days(date(2026, 1, 1), 7)
    result = CliRunner().invoke(main, ["ml", "serve", "--model", "app_activity_forecaster"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "the app-activity forecaster first trains after ~37 days of history" in result.stderr
    assert (
        "7 day(s) replayed so far (2026-01-01..2026-01-07): continue with "
        "`rillflow backfill --from 2026-01-08 --days 33`" in result.stderr
    )


def test_serve_with_versions_but_not_that_alias(vertex_platform: Vertex, tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    get_registry().register("churn_classifier", tmp_path / "m", {}, Lineage("t", "2026-03-01", 1, "h"))
    result = CliRunner().invoke(main, ["ml", "serve", "--alias", CHAMPION])
    assert result.exit_code == 1
    assert (
        "has no version with alias 'champion' (its aliases: none); choose one with --alias" in result.stderr
    )


def test_empty_registry_list_explains_instead_of_an_empty_table(vertex_platform: Vertex) -> None:
    result = CliRunner().invoke(main, ["ml", "registry", "list"])
    assert result.exit_code == 0
    assert result.output.startswith(
        "no model versions yet: the app-activity forecaster first trains after ~37"
    )
    assert "the churn model first trains after ~69 days" in result.output
    assert "`rillflow backfill --from 2026-01-01 --days 70`" in result.output
    assert json.loads(CliRunner().invoke(main, ["ml", "registry", "list", "--json"]).output) == []


def test_in_the_cloud_there_is_nothing_to_replay() -> None:
    hint = first_model_hint(replace(get_settings(), env="cloud"), "churn_classifier")
    assert hint.startswith("the churn model first trains after ~69 days") and "rillflow run" not in hint
