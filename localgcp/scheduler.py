"""Cloud Scheduler on a virtual clock.

The same cron strings as terraform's Cloud Scheduler jobs (UTC) are expanded between two
virtual instants; each firing is an HTTP POST to the job's function carrying the headers
Cloud Scheduler sends (``X-CloudScheduler-ScheduleTime`` among them), so functions take
"now" from the schedule time and a replay of thirty days behaves like thirty real days.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from croniter import croniter

from localgcp.triggers import Schedule


@dataclass(frozen=True)
class Firing:
    at: datetime
    schedule: Schedule


def firings(
    schedules: tuple[Schedule, ...] | list[Schedule], start: datetime, end: datetime
) -> Iterator[Firing]:
    """Every firing in (start, end], in time order; ties keep declaration order."""
    heap: list[tuple[datetime, int, Any, Schedule]] = []
    for order, sched in enumerate(schedules):
        it = croniter(sched.cron, start.astimezone(UTC))
        first = it.get_next(datetime)
        if first <= end:
            heapq.heappush(heap, (first, order, it, sched))
    while heap:
        at, order, it, sched = heapq.heappop(heap)
        yield Firing(at, sched)
        nxt = it.get_next(datetime)
        if nxt <= end:
            heapq.heappush(heap, (nxt, order, it, sched))


def scheduler_headers(firing: Firing, project: str, region: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Google-Cloud-Scheduler",
        "X-CloudScheduler": "true",
        "X-CloudScheduler-JobName": f"projects/{project}/locations/{region}/jobs/{firing.schedule.name}",
        "X-CloudScheduler-ScheduleTime": firing.at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


class SchedulerClient:
    """Fires jobs at function endpoints; retries like Cloud Scheduler's default retry config."""

    def __init__(
        self,
        endpoint_of: Callable[[str], str],
        project: str,
        region: str,
        attempts: int = 3,
        timeout_s: float = 600.0,
    ) -> None:
        self.endpoint_of = endpoint_of
        self.project = project
        self.region = region
        self.attempts = attempts
        self.timeout_s = timeout_s
        self.session = requests.Session()

    def fire(self, firing: Firing, body: dict[str, Any] | None = None) -> requests.Response:
        url = self.endpoint_of(firing.schedule.function)
        headers = scheduler_headers(firing, self.project, self.region)
        last: requests.Response | None = None
        for _ in range(self.attempts):
            last = self.session.post(url, json=body or {}, headers=headers, timeout=self.timeout_s)
            if last.status_code < 500:
                break
        assert last is not None
        if last.status_code >= 300:
            raise RuntimeError(
                f"job {firing.schedule.name} at {firing.at:%Y-%m-%d %H:%M} failed: HTTP {last.status_code} {last.text[:300]}"
            )
        return last
