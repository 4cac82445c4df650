"""End to end on the local Google Cloud: the batch flows land in the bronze lake, event-driven.

Three simulated days (the first run, Friday 2 January, is the full startups load) through the
real path: virtual-clock scheduler → functions-framework processes → emulators → Eventarc router
→ on_bronze_object_finalized → daily workflow → export_sales; then the next Friday's startups
job fires as Cloud Scheduler would, for the delta. The startups API injects 30% transient
failures all along.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from google.cloud import firestore, storage  # type: ignore[attr-defined]

from harness.reconcile import reconcile
from harness.replay import Replay, ReplayReport
from harness.stack import LocalStack
from harness.testing import running_stack, use_stack_env
from localgcp.services.scheduler.service import Firing, SchedulerClient
from rillflow.generators.startups import StartupUniverse

pytestmark = pytest.mark.e2e

FIRST_DAY = date(2026, 1, 1)
DAYS = 3
DELTA_AT = datetime(2026, 1, 9, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    env = {"RILLFLOW_STARTUPS_API_FAILURE_RATE": "0.3"}
    with running_stack(tmp_path_factory.mktemp("batch-e2e"), env) as running:
        assert running.router is not None
        running.router.journal = []  # keep every routed event for the redelivery drill
        yield running


@pytest.fixture(scope="module")
def replayed(stack: LocalStack) -> ReplayReport:
    s = stack.settings
    replay = Replay(
        stack.declaration,
        SchedulerClient(stack.function_url, s.project, s.region),
        stack.wait_idle,
        stack.set_clock,
    )
    report = replay.run(FIRST_DAY, DAYS)
    weekly = next(sched for sched in stack.declaration.schedules if sched.function == "ingest_startups")
    stack.set_clock(DELTA_AT)
    firing = Firing(DELTA_AT, weekly)
    report.add("ingest_startups_delta", replay.scheduler.fire(firing).json())
    assert stack.wait_idle(600)
    return report


def _days() -> list[str]:
    return [(FIRST_DAY + timedelta(days=i)).isoformat() for i in range(DAYS)]


def _collection(name: str) -> dict[str, dict[str, Any]]:
    client = firestore.Client()
    return {doc.id: doc.to_dict() or {} for doc in client.collection(name).stream()}


def test_every_expected_bronze_file_lands_once(stack: LocalStack, replayed: ReplayReport) -> None:
    use_stack_env(stack)
    names = {b.name for b in storage.Client().list_blobs(stack.settings.lake_bucket, prefix="bronze/")}
    expected = {f"bronze/clickstream/dt={d}/part-00000.jsonl" for d in _days()}
    expected |= {f"bronze/sales/dt={d}/part-00000.parquet" for d in _days()}
    expected |= {
        "bronze/startups/load_type=full/dt=2026-01-02/part-00000.jsonl",
        "bronze/startups/load_type=delta/dt=2026-01-09/part-00000.jsonl",
    }
    assert names == expected
    manifest = _collection("load_manifest")
    assert {m["name"] for m in manifest.values()} == expected
    assert all(m["status"] == "loaded" for m in manifest.values())
    runs = _collection("daily_runs")
    assert sorted(runs) == _days()
    assert [runs[d]["run_id"] for d in _days()] == [f"daily-{d.replace('-', '')}" for d in _days()]


def test_counts_reconcile_per_flow(stack: LocalStack, replayed: ReplayReport) -> None:
    use_stack_env(stack)
    counts = {c.flow: c for c in reconcile(stack.settings, FIRST_DAY, DAYS, replayed.totals)}
    assert all(c.ok for c in counts.values()), [c.line() for c in counts.values()]
    assert counts["clickstream"].generated > DAYS * 900
    assert counts["sales"].generated > DAYS * 250


def test_full_then_delta_startups_load_survives_transient_failures(
    stack: LocalStack, replayed: ReplayReport
) -> None:
    use_stack_env(stack)
    assert stack.startups_api.api.injected_failures > 0, "the drill must actually inject failures"
    universe = StartupUniverse(seed=stack.settings.seed)
    full_at = datetime(2026, 1, 2, 1, tzinfo=UTC)
    delta_at = DELTA_AT
    lake = stack.settings.lake_dir / "bronze" / "startups"
    full = [
        json.loads(x)
        for x in (lake / "load_type=full/dt=2026-01-02/part-00000.jsonl").read_text().splitlines()
    ]
    delta = [
        json.loads(x)
        for x in (lake / "load_type=delta/dt=2026-01-09/part-00000.jsonl").read_text().splitlines()
    ]
    assert sorted(r["startup_id"] for r in full) == sorted(
        r["startup_id"] for r in universe.snapshot(full_at)
    )
    changed = universe.changes(full_at, delta_at)
    assert changed, "a week of the universe changes some startups"
    assert sorted(r["startup_id"] for r in delta) == sorted(r["startup_id"] for r in changed)
    watermark = firestore.Client().document("ingestion_state/startups").get().to_dict() or {}
    assert watermark, "the watermark advanced after the delta was written"
    assert replayed.totals["ingest_startups_delta"]["rows"] == len(delta)


def test_redelivering_every_event_twice_changes_nothing(stack: LocalStack, replayed: ReplayReport) -> None:
    use_stack_env(stack)
    assert stack.router is not None and stack.router.journal
    before = {name: _collection(name) for name in ("load_manifest", "daily_runs", "sales_ledger")}
    assert before["sales_ledger"], "on_sale_written kept daily ledgers"
    events = list(stack.router.journal)
    for _ in range(2):
        for event in events:
            stack.router.emit(event)
    assert stack.wait_idle(300)
    after = {name: _collection(name) for name in before}
    assert after == before
    assert stack.router.stats.dead_lettered == 0


def test_corrupt_file_is_quarantined_with_reason_and_the_day_completes(
    stack: LocalStack, replayed: ReplayReport
) -> None:
    use_stack_env(stack)
    bucket = storage.Client().bucket(stack.settings.lake_bucket)
    name = "bronze/clickstream/dt=2026-01-20/part-00000.jsonl"
    bucket.blob(name).upload_from_string(b'{"event_id": "x"}\nnot json at all\n', if_generation_match=0)
    assert stack.wait_idle(300)
    reason_blob = bucket.blob(f"quarantine/{name}.reason.json")
    assert reason_blob.exists(), "a reason file sits beside the quarantined copy"
    reason = json.loads(reason_blob.download_as_bytes())
    assert reason["flow"] == "clickstream" and reason["reason"]
    assert bucket.blob(f"quarantine/{name}").exists()
    manifest = [m for m in _collection("load_manifest").values() if m["name"] == name]
    assert [m["status"] for m in manifest] == ["quarantined"]
    assert "2026-01-20" in _collection("daily_runs"), "a quarantined file still completes its day"
