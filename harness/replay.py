"""Replays simulated days on the virtual clock: fire the declared cron jobs at the function
endpoints in time order, and after each nightly batch wait until every event and workflow
execution it caused has settled. Minute jobs (the app-event publisher) run a few at a time.

The streaming job drains once per simulated day, when the publisher moves on to the next day's
minutes (and before a nightly job of a later day): a day's events are in the lake before the
nightly jobs that complete it, and each hourly aggregate is built from one run that saw the
whole hour (the bounded runs' hourly rows replace each other: a run that saw part of an hour
would leave part of it)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter as time_now
from typing import Any

from localgcp.services.eventarc.triggers import Declaration
from localgcp.services.scheduler.service import Firing, SchedulerClient, firings

MINUTELY = "* * * * *"
#: the phases of a replayed day whose wall time the report keeps (they do not overlap)
MINUTE_JOBS = "minute jobs (scheduler → publish_app_events → Pub/Sub)"
STREAM_DRAIN = "stream drain (Beam over the day's messages)"
NIGHTLY = "nightly jobs and what they cause (events, functions, daily workflow)"
PHASES = (MINUTE_JOBS, STREAM_DRAIN, NIGHTLY)
#: numeric fields of function replies that identify rather than count (never summed)
IDENTIFIER_FIELDS = frozenset({"generation", "shard", "shards"})


@dataclass
class ReplayReport:
    """What the functions said they produced, summed per function, and where the wall time went."""

    calls: dict[str, int] = field(default_factory=dict)
    totals: dict[str, dict[str, float]] = field(default_factory=dict)
    #: phase (:data:`PHASES`) -> wall seconds, summed over the days
    seconds: dict[str, float] = field(default_factory=dict)

    def time(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds

    def add(self, function: str, payload: Any) -> None:
        self.calls[function] = self.calls.get(function, 0) + 1
        if isinstance(payload, dict):
            sums = self.totals.setdefault(function, {})
            for key, value in payload.items():
                if key in IDENTIFIER_FIELDS:
                    continue
                if isinstance(value, int | float) and not isinstance(value, bool):
                    sums[key] = sums.get(key, 0) + value


@dataclass
class Replay:
    declaration: Declaration
    scheduler: SchedulerClient
    wait_idle: Callable[[float], bool]
    set_clock: Callable[[datetime], None]
    app_events_per_day: int = 0
    #: runs the streaming job over what the minute publishers sent (before each nightly batch)
    drain_stream: Callable[[], Any] | None = None
    minute_workers: int = 4
    on_progress: Callable[[str, int, int], None] = lambda label, done, total: None
    #: called with day D once D's nightly jobs (at D+1) and everything they caused have settled
    after_day: Callable[[date], None] = lambda day: None
    #: the days whose nightly batch has settled, in order (what an interrupted replay completed)
    days_done: list[date] = field(default_factory=list, init=False)
    _undrained: int = field(default=0, init=False)
    #: the day of the published minutes not handed to the streaming job yet
    _undrained_day: date | None = field(default=None, init=False)

    def window(self, first_day: date, days: int) -> tuple[datetime, datetime]:
        start = datetime.combine(first_day, time(0), UTC)
        """(first day 00:00, last day + 1 at 01:00]: the nightly jobs (``functions/triggers.yaml``'s
        schedules) that fire on D+1 produce day D."""
        return start, start + timedelta(days=days, hours=1)

    def run(self, first_day: date, days: int) -> ReplayReport:
        report = ReplayReport()
        start, end = self.window(first_day, days)
        minute_end = start + timedelta(days=days)
        nightly_start = start + timedelta(days=1)
        plan = [
            f
            for f in firings(self.declaration.schedules, start, end)
            if (f.schedule.cron == MINUTELY and f.at <= minute_end and self.app_events_per_day > 0)
            or (f.schedule.cron != MINUTELY and f.at > nightly_start - timedelta(seconds=1) and f.at <= end)
        ]
        total = len(plan)
        day_ends = _last_nightly_per_date(plan)
        pending: list[tuple[Firing, Future[Any]]] = []
        with ThreadPoolExecutor(self.minute_workers, thread_name_prefix="minute") as pool:
            for done, firing in enumerate(plan, start=1):
                if firing.schedule.cron == MINUTELY:
                    minute_day = (firing.at - timedelta(minutes=1)).date()  # the minute it publishes
                    self._drain_before(minute_day, pending, report)
                    t0 = time_now()
                    body = {"events_per_day": self.app_events_per_day}
                    pending.append((firing, pool.submit(self.scheduler.fire, firing, body)))
                    self._undrained_day = self._undrained_day or minute_day
                    if len(pending) >= 4 * self.minute_workers:
                        self._collect(pending, report)
                    report.time(MINUTE_JOBS, time_now() - t0)
                else:
                    self._collect(pending, report)
                    self._drain_before(firing.at.date(), pending, report)
                    t0 = time_now()
                    self.set_clock(firing.at)
                    report.add(firing.schedule.function, _json(self.scheduler.fire(firing)))
                    if not self.wait_idle(1800):
                        raise TimeoutError(f"events of {firing.schedule.name} at {firing.at} did not settle")
                    if done - 1 in day_ends:
                        self._day_settled(firing.at.date() - timedelta(days=1))
                    report.time(NIGHTLY, time_now() - t0)
                self.on_progress(f"{firing.at:%Y-%m-%d %H:%M} {firing.schedule.name}", done, total)
            t0 = time_now()
            self._collect(pending, report)
            report.time(MINUTE_JOBS, time_now() - t0)
            self._drain(report)
        if not self.wait_idle(1800):
            raise TimeoutError("the replay's events did not settle")
        return report

    def _day_settled(self, day: date) -> None:
        self.after_day(day)
        if not self.wait_idle(1800):
            raise TimeoutError(f"what ran after day {day} did not settle")
        self.days_done.append(day)

    def _collect(self, pending: list[tuple[Firing, Future[Any]]], report: ReplayReport) -> None:
        """Wait for the queued minute jobs."""
        for firing, fut in pending:
            report.add(firing.schedule.function, _json(fut.result()))
        self._undrained += len(pending)
        pending.clear()

    def _drain_before(
        self, day: date, pending: list[tuple[Firing, Future[Any]]], report: ReplayReport
    ) -> None:
        """Drain what was published for days before ``day`` (at most one day: it drains daily)."""
        if self._undrained_day is not None and self._undrained_day < day:
            t0 = time_now()
            self._collect(pending, report)
            report.time(MINUTE_JOBS, time_now() - t0)
            self._drain(report)

    def _drain(self, report: ReplayReport) -> None:
        """Hand what the minute jobs published to the streaming job, if anything is waiting."""
        if self._undrained and self.drain_stream is not None:
            t0 = time_now()
            self.drain_stream()
            report.time(STREAM_DRAIN, time_now() - t0)
        self._undrained = 0
        self._undrained_day = None


def _last_nightly_per_date(plan: list[Firing]) -> set[int]:
    """Indexes of the last nightly (non-minute) firing of each date: after it, the day before is done."""
    last: dict[date, int] = {}
    for index, firing in enumerate(plan):
        if firing.schedule.cron != MINUTELY:
            last[firing.at.date()] = index
    return set(last.values())


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
