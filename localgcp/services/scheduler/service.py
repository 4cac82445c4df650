"""Cloud Scheduler on a virtual clock.

The same cron strings as terraform's Cloud Scheduler jobs (UTC) are expanded between two
virtual instants; each firing is an HTTP POST to the job's function carrying the headers
Cloud Scheduler sends (``X-CloudScheduler-ScheduleTime`` among them), so functions take
"now" from the schedule time and a replay of thirty days behaves like thirty real days.
"""

from __future__ import annotations

import heapq
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from croniter import croniter

from localgcp.services.eventarc.triggers import Schedule
from localgcp.services.functions.oidc import Issuer


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


#: how many times each tick is fired when the client is not told (drills set it to 2)
COPIES_ENV = "LOCALGCP_SCHEDULER_COPIES"
#: the service account the local scheduler's jobs run as (their ``oidc_token`` names it)
SERVICE_ACCOUNT_ENV = "LOCALGCP_SCHEDULER_SERVICE_ACCOUNT"


def _stack_tokens() -> Callable[[str], str] | None:
    issuer = Issuer.from_env()
    email = os.environ.get(SERVICE_ACCOUNT_ENV, "")
    if issuer is None or not email:
        return None
    return lambda url: issuer.mint(url, email)


class SchedulerClient:
    """Fires jobs at function endpoints; retries like Cloud Scheduler's retry config.

    A 5xx answer spends one of ``attempts`` (with a doubling backoff). A function that cannot be
    reached — its process died and is being restarted, where Cloud Run would answer 503 while it
    replaces the instance — is retried for up to ``unavailable_grace_s`` without spending attempts;
    the function may have died mid-request, so a retried job must be idempotent, as in the cloud.
    """

    def __init__(
        self,
        endpoint_of: Callable[[str], str],
        project: str,
        region: str,
        attempts: int = 3,
        timeout_s: float = 600.0,
        backoff_s: float = 0.2,
        unavailable_grace_s: float = 60.0,
        token_for: Callable[[str], str] | None = None,
        copies: int | None = None,
    ) -> None:
        """``token_for(url)``: the job's ``oidc_token`` for the target (audience = its URL); by
        default minted by the running stack's issuer (:data:`~localgcp.services.functions.oidc.KEY_FILE_ENV`)
        for the service account in :data:`SERVICE_ACCOUNT_ENV`, and none without a stack issuer."""
        self.endpoint_of = endpoint_of
        self.project = project
        self.region = region
        self.attempts = attempts
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.unavailable_grace_s = unavailable_grace_s
        self.token_for = token_for if token_for is not None else _stack_tokens()
        #: each tick fired this many times, one after the other (by default :data:`COPIES_ENV`)
        self.copies = copies if copies is not None else int(os.environ.get(COPIES_ENV) or 1)
        self.session = requests.Session()
        #: connection failures retried within the grace (restarting functions), for the drills
        self.unreachable = 0

    def fire(self, firing: Firing, body: dict[str, Any] | None = None) -> requests.Response:
        """POST the job's request (retried as the class says); with ``copies`` > 1 the same tick
        again, as Cloud Scheduler's at-least-once delivery may. The first answer is returned."""
        first = self._fire_once(firing, body)
        for _ in range(self.copies - 1):
            self._fire_once(firing, body)
        return first

    def _fire_once(self, firing: Firing, body: dict[str, Any] | None) -> requests.Response:
        url = self.endpoint_of(firing.schedule.function)
        headers = scheduler_headers(firing, self.project, self.region)
        if self.token_for is not None:
            headers["Authorization"] = f"Bearer {self.token_for(url)}"
        last: requests.Response | None = None
        attempt = 0
        unreachable_since: float | None = None
        while attempt < self.attempts:
            try:
                last = self.session.post(url, json=body or {}, headers=headers, timeout=self.timeout_s)
            except requests.ConnectionError:
                now = time.monotonic()
                unreachable_since = unreachable_since if unreachable_since is not None else now
                if now - unreachable_since >= self.unavailable_grace_s:
                    raise
                self.unreachable += 1
                time.sleep(self.backoff_s)
                continue
            unreachable_since = None
            attempt += 1
            if last.status_code < 500:
                break
            if attempt < self.attempts:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
        assert last is not None
        if last.status_code >= 300:
            raise RuntimeError(
                f"job {firing.schedule.name} at {firing.at:%Y-%m-%d %H:%M} failed: HTTP {last.status_code} {last.text[:300]}"
            )
        return last
