"""When a replay hands the published app events to the streaming job: once per simulated day, when
the publisher moves on to the next day, so that each bounded run sees whole hours (its hourly rows
replace any earlier run's) and a day's events are in the lake before the nightly jobs complete it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from harness.replay import MINUTELY, Replay
from harness.triggers import load_declaration
from localgcp.services.scheduler.service import Firing

D = date(2026, 1, 1)


class _Reply:
    def json(self) -> dict[str, Any]:
        return {"events": 1}


class _Scheduler:
    def __init__(self, log: list[tuple[str, datetime | None]]) -> None:
        self.log = log

    def fire(self, firing: Firing, body: dict[str, Any] | None = None) -> _Reply:
        kind = "minute" if firing.schedule.cron == MINUTELY else firing.schedule.function
        self.log.append((kind, firing.at))
        return _Reply()


def _replay(days: int) -> list[tuple[str, datetime | None]]:
    log: list[tuple[str, datetime | None]] = []
    replay = Replay(
        load_declaration({"lake_bucket": "lake"}),
        _Scheduler(log),  # type: ignore[arg-type]
        wait_idle=lambda timeout: True,
        set_clock=lambda now: None,
        app_events_per_day=100,
        drain_stream=lambda: log.append(("drain", None)),
        minute_workers=1,
    )
    replay.run(D, days)
    return log


def test_the_stream_drains_once_a_day_with_whole_days() -> None:
    log = _replay(2)
    drains = [i for i, (kind, _) in enumerate(log) if kind == "drain"]
    assert len(drains) == 2
    published: list[list[date]] = [[]]
    for kind, at in log:
        if kind == "drain":
            published.append([])
        elif kind == "minute" and at is not None:
            published[-1].append((at - timedelta(minutes=1)).date())
    assert [sorted(set(days)) for days in published[:2]] == [[D], [D + timedelta(days=1)]]
    assert [len(days) for days in published[:2]] == [1440, 1440] and published[2] == []


def test_a_day_is_drained_before_the_nightly_jobs_that_complete_it() -> None:
    log = _replay(2)
    last_drain = max(i for i, (kind, _) in enumerate(log) if kind == "drain")
    nightly = [(i, at) for i, (kind, at) in enumerate(log) if kind not in ("minute", "drain")]
    first_drain = log.index(("drain", None))
    for i, at in nightly:
        assert at is not None
        produced = at.date() - timedelta(days=1)  # a nightly job at D+1 produces day D
        assert i > (first_drain if produced == D else last_drain), (at, i)
    # the first nightly job (generate_sales at D+1 00:30) comes after D's drain, not before it
    assert nightly[0][1] == datetime(2026, 1, 2, 0, 30, tzinfo=UTC)
