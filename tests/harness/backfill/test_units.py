"""The backfill's pieces that need no stack: claims it writes, the launcher that records the day's
pipeline, and the app-event batches it hands the streaming pipeline."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from harness.backfill import BackfillError, Pipelines
from harness.day_runs import BACKFILLED, LOADED, SUCCEEDED, DayRun, DayRuns, plan_days

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "functions"))
from rillflow_functions import app_events_job, day_completion  # noqa: E402
from rillflow_functions.generator_source import SyntheticSources  # noqa: E402

from contracts.app_event_codec import decode_batch  # noqa: E402

D = date(2026, 1, 1)  # a Thursday


def _claim(day: date, status: str, flows: list[str]) -> dict[str, object]:
    return {
        "dt": day.isoformat(),
        "run_id": day_completion.run_id_for(day),
        "flows": flows,
        "status": status,
        "execution": f"backfills/b1/days/{day}",
    }


def test_a_backfilled_claim_is_complete_and_a_loaded_one_is_not() -> None:
    runs = DayRuns(documents=None, executions=None, workflow="w")  # type: ignore[arg-type]
    friday = D + timedelta(days=1)
    done = runs._run(friday, _claim(friday, "backfilled", ["clickstream", "startups"]))
    assert (done.state, done.complete) == (BACKFILLED, True)
    assert done.argument == {"date": "2026-01-02", "run_id": "daily-20260102", "weekly": True}
    loaded = runs._run(D, _claim(D, "loaded", ["clickstream"]))
    assert (loaded.state, loaded.complete) == (LOADED, False)


def test_backfilled_days_at_the_start_are_skipped_like_replayed_ones() -> None:
    found = {
        D: DayRun(D, BACKFILLED, None, {"date": "2026-01-01"}),
        D + timedelta(days=1): DayRun(D + timedelta(days=1), SUCCEEDED, "e", {"date": "2026-01-02"}),
        D + timedelta(days=2): DayRun(D + timedelta(days=2), LOADED, None, {"date": "2026-01-03"}),
    }
    plan = plan_days(D, 4, found, force=False)
    assert plan.skipped == [D, D + timedelta(days=1)] and plan.days == 2
    assert set(plan.rerun) == {D + timedelta(days=2)}


def test_the_launcher_records_the_pipeline_a_claim_starts() -> None:
    pipelines = Pipelines("b1")
    name = pipelines.start(
        "daily_pipeline", {"date": "2026-01-01", "run_id": "daily-20260101", "weekly": False}
    )
    assert name == "backfills/b1/days/2026-01-01"
    assert pipelines.take() == [{"date": "2026-01-01", "run_id": "daily-20260101", "weekly": False}]
    assert pipelines.take() == []
    with pytest.raises(BackfillError):
        pipelines.start("streaming_launcher", {})


def test_minute_batches_are_the_messages_the_publisher_sends() -> None:
    generators = SyntheticSources(seed=7, n_customers=50, app_events_per_day=3_000)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    bulk = {
        m: (n, msgs)
        for m, n, msgs in app_events_job.batches(
            generators, start, start + timedelta(minutes=30), 0, 1, 3_000
        )
    }
    for minute in (start + timedelta(minutes=i) for i in range(30)):
        events = generators.app_events(minute, minute + timedelta(minutes=1), (0, 1), 3_000)
        if not events:  # the publisher sends nothing for a minute without events
            assert minute not in bulk
            continue
        assert bulk[minute] == (len(events), app_events_job.build_messages(events, minute, 0, 1))
    assert len(bulk) >= 20


def test_hour_batches_carry_the_same_events_in_fewer_envelopes() -> None:
    generators = SyntheticSources(seed=7, n_customers=50, app_events_per_day=20_000)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    end = start + timedelta(hours=3)
    hourly = list(
        app_events_job.batches(
            generators, start, end, 0, 1, 20_000, span=timedelta(hours=1), producer="backfill"
        )
    )
    assert [period for period, _, _ in hourly] == [start + timedelta(hours=h) for h in range(3)]
    decoded = [decode_batch(data) for _, _, messages in hourly for data, _ in messages]
    assert all(len(batch["events"]) <= app_events_job.BATCH_EVENTS for batch in decoded)
    assert {batch["producer"] for batch in decoded} == {"backfill"}
    ids = Counter(e["event_id"] for batch in decoded for e in batch["events"])
    expected = Counter(e["event_id"] for e in generators.app_events(start, end, (0, 1), 20_000))
    assert ids == expected and sum(count for _, count, _ in hourly) == sum(expected.values())
    with pytest.raises(ValueError, match="divide an hour"):
        list(app_events_job.batches(generators, start, end, 0, 1, span=timedelta(minutes=7)))


def test_hourly_sums_do_not_depend_on_how_the_events_are_chunked() -> None:
    from streaming.outputs import SumTotals, hourly_totals

    prices = [0.1, 0.2, 0.3, 56.9612 - 0.6, 1e-7, 3.3333333]
    events = [
        {"country": "CN", "platform": "ios", "event_type": "purchase", "revenue_usd": p} for p in prices
    ]

    def total(chunks: list[list[dict[str, object]]]) -> list[float]:
        fn = SumTotals()
        acc = fn.create_accumulator()
        for chunk in chunks:
            acc = fn.add_input(acc, hourly_totals(chunk))
        return fn.extract_output(acc)[("CN", "ios", "purchase")]

    one = total([events])
    assert one == total([[e] for e in reversed(events)]) == total([events[3:], events[:3]])
    assert one[0] == 6 and abs(one[1] - sum(prices)) < 1e-9
