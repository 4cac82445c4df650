"""The local Eventarc: routes CloudEvents from the emulators to function endpoints.

Delivery is binary-mode CloudEvents over HTTP, at least once: a non-2xx answer or a
connection error is retried with exponential backoff, and after ``max_attempts`` the
event is written to a dead-letter log (JSONL) with the last error. ``wait_idle()`` lets
the replay driver wait until every event of a simulated day has settled.

``copies`` > 1 delivers every event that many times, as separate deliveries (Eventarc delivers
at least once: a drill checks that the functions make nothing of the duplicates); by default
:data:`COPIES_ENV` says how many. ``jitter_s`` > 0 holds each delivery back a random time up to
that many seconds (seeded by :data:`SEED_ENV`), so events reach a function out of the order they
happened in, which Eventarc allows (it promises no order); by default :data:`JITTER_ENV`.

A function that cannot be reached (its process died and is being restarted: Cloud Run answers
503 while it replaces an instance) is retried with the same backoff for ``unavailable_grace_s``
without spending the delivery's attempts; past that grace the attempts count again.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from cloudevents.conversion import to_binary
from cloudevents.http import CloudEvent

from localgcp.services.eventarc.triggers import Declaration, EventTrigger

#: how many times each event is delivered when the router is not told (drills set it to 2)
COPIES_ENV = "LOCALGCP_EVENTARC_COPIES"
#: the most seconds a delivery is held back at random when the router is not told (drills: > 0)
JITTER_ENV = "LOCALGCP_EVENTARC_JITTER_S"
#: the seed of those random delays
SEED_ENV = "LOCALGCP_EVENTARC_SEED"
#: how the error text of a delivery whose function could not be reached begins
UNREACHABLE = "unreachable: "


@dataclass(order=True)
class _Delivery:
    due: float
    seq: int
    trigger: EventTrigger = field(compare=False)
    event: CloudEvent = field(compare=False)
    attempt: int = field(default=0, compare=False)
    last_error: str = field(default="", compare=False)
    #: monotonic time of the first failed attempt in a run of unreachable-endpoint failures
    unreachable_since: float | None = field(default=None, compare=False)


@dataclass
class RouterStats:
    received: int = 0
    unmatched: int = 0
    delivered: int = 0
    retried: int = 0
    #: retries of a delivery whose function could not be reached (not counted as attempts)
    unreachable: int = 0
    dead_lettered: int = 0
    paused: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class EventRouter:
    """An :class:`localgcp.events.EventSink` that delivers to functions by trigger."""

    def __init__(
        self,
        declaration: Declaration,
        endpoint_of: Callable[[str], str],
        dead_letter_path: Path,
        *,
        max_attempts: int = 6,
        initial_backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
        workers: int = 4,
        timeout_s: float = 120.0,
        journal: bool = False,
        unavailable_grace_s: float = 0.0,
        token_for: Callable[[EventTrigger, str], str] | None = None,
        copies: int | None = None,
        jitter_s: float | None = None,
    ) -> None:
        """``token_for(trigger, url)``: the ID token the trigger's service account presents to the
        function at ``url`` (Eventarc sends one; Cloud Run checks it); None: no token."""
        self.declaration = declaration
        self.endpoint_of = endpoint_of
        self.dead_letter_path = Path(dead_letter_path)
        self.max_attempts = max_attempts
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self.timeout_s = timeout_s
        self.unavailable_grace_s = unavailable_grace_s
        self.token_for = token_for
        self.copies = copies if copies is not None else int(os.environ.get(COPIES_ENV) or 1)
        self.jitter_s = jitter_s if jitter_s is not None else float(os.environ.get(JITTER_ENV) or 0.0)
        self._rng = random.Random(int(os.environ.get(SEED_ENV) or 0))
        self.stats = RouterStats()
        #: every matched event received, in order, when ``journal`` is on (redelivery drills)
        self.journal: list[CloudEvent] | None = [] if journal else None
        self._queue: list[_Delivery] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._stopping = False
        self._paused: dict[str, int] = {}  # trigger name -> how many pauses hold it
        self._session = requests.Session()
        self._threads = [
            threading.Thread(target=self._work, name=f"eventarc-{i}", daemon=True) for i in range(workers)
        ]
        for t in self._threads:
            t.start()

    # --- EventSink ---------------------------------------------------------------------
    def emit(self, event: CloudEvent) -> None:
        triggers = self.declaration.triggers_for(event)
        with self._cond:
            self.stats.received += 1
            if not triggers:
                self.stats.unmatched += 1
            elif self.journal is not None:
                self.journal.append(event)
            live = [t for t in triggers if t.name not in self._paused]
            self.stats.paused += len(triggers) - len(live)
            for trigger in live:
                self._enqueue(trigger, event)
            self._cond.notify_all()

    def deliver(self, trigger: EventTrigger, event: CloudEvent) -> None:
        """Queue ``event`` for one trigger (Pub/Sub pushes arrive already addressed)."""
        with self._cond:
            self.stats.received += 1
            if self.journal is not None:
                self.journal.append(event)
            self._enqueue(trigger, event)
            self._cond.notify_all()

    def _enqueue(self, trigger: EventTrigger, event: CloudEvent) -> None:
        """``copies`` deliveries of the event, each held back up to ``jitter_s`` (caller holds the lock)."""
        for _ in range(self.copies):
            due = time.monotonic() + (self._rng.uniform(0.0, self.jitter_s) if self.jitter_s > 0 else 0.0)
            heapq.heappush(self._queue, _Delivery(due, next(self._seq), trigger, event))

    # --- control -----------------------------------------------------------------------
    def pause(self, names: list[str] | tuple[str, ...]) -> None:
        """Stop delivering events to these triggers (by name) until :meth:`resume`; pauses nest."""
        unknown = set(names) - {t.name for t in self.declaration.event_triggers}
        if unknown:
            raise KeyError(f"no event trigger named {sorted(unknown)}")
        with self._cond:
            for name in names:
                self._paused[name] = self._paused.get(name, 0) + 1

    def resume(self, names: list[str] | tuple[str, ...]) -> None:
        """Undo one :meth:`pause` of each trigger; events arriving from now on are delivered."""
        with self._cond:
            for name in names:
                left = self._paused.get(name, 0) - 1
                if left > 0:
                    self._paused[name] = left
                else:
                    self._paused.pop(name, None)

    @property
    def paused_triggers(self) -> list[str]:
        with self._cond:
            return sorted(self._paused)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._in_flight

    def wait_idle(self, timeout_s: float = 300.0) -> bool:
        """Block until nothing is queued or in flight; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._queue or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
            return True

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout=5)

    # --- delivery ----------------------------------------------------------------------
    def _next(self) -> _Delivery | None:
        with self._cond:
            while not self._stopping:
                if self._queue:
                    wait = self._queue[0].due - time.monotonic()
                    if wait <= 0:
                        self._in_flight += 1
                        return heapq.heappop(self._queue)
                    self._cond.wait(wait)
                else:
                    self._cond.wait()
            return None

    def _work(self) -> None:
        while (delivery := self._next()) is not None:
            error = self._post(delivery)
            with self._cond:
                self._in_flight -= 1
                if error is None:
                    self.stats.delivered += 1
                elif self._within_grace(delivery, error):
                    self.stats.unreachable += 1
                    backoff = min(self.initial_backoff_s * 2**delivery.attempt, self.max_backoff_s)
                    delivery.last_error = error
                    delivery.due = time.monotonic() + backoff
                    delivery.seq = next(self._seq)
                    heapq.heappush(self._queue, delivery)
                elif delivery.attempt + 1 >= self.max_attempts:
                    self.stats.dead_lettered += 1
                    self._dead_letter(delivery, error)
                else:
                    self.stats.retried += 1
                    backoff = min(self.initial_backoff_s * 2**delivery.attempt, self.max_backoff_s)
                    delivery.attempt += 1
                    delivery.last_error = error
                    delivery.due = time.monotonic() + backoff
                    delivery.seq = next(self._seq)
                    heapq.heappush(self._queue, delivery)
                self._cond.notify_all()

    def _within_grace(self, delivery: _Delivery, error: str) -> bool:
        """True while an unreachable function is given time to come back (see the module doc)."""
        if not error.startswith(UNREACHABLE):
            delivery.unreachable_since = None
            return False
        now = time.monotonic()
        if delivery.unreachable_since is None:
            delivery.unreachable_since = now
        return now - delivery.unreachable_since < self.unavailable_grace_s

    def _post(self, delivery: _Delivery) -> str | None:
        """POST one binary-mode CloudEvent; None on 2xx, else the error text."""
        headers, body = to_binary(delivery.event)
        try:
            url = self.endpoint_of(delivery.trigger.function)
            if self.token_for is not None:
                headers["Authorization"] = f"Bearer {self.token_for(delivery.trigger, url)}"
            resp = self._session.post(url, data=body, headers=headers, timeout=self.timeout_s)
        except requests.ConnectionError as exc:  # refused, or the process died mid-request
            return f"{UNREACHABLE}{type(exc).__name__}: {exc}"
        except (requests.RequestException, KeyError) as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= resp.status_code < 300:
            return None
        return f"HTTP {resp.status_code}: {resp.text[:500]}"

    def _dead_letter(self, delivery: _Delivery, error: str) -> None:
        data = delivery.event.get_data()
        record: dict[str, Any] = {
            "trigger": delivery.trigger.name,
            "function": delivery.trigger.function,
            "attempts": delivery.attempt + 1,
            "error": error,
            "attributes": {k: str(v) for k, v in delivery.event.get_attributes().items()},
            "data_base64": base64.b64encode(
                data if isinstance(data, bytes) else json.dumps(data).encode()
            ).decode(),
        }
        self.dead_letter_path.parent.mkdir(parents=True, exist_ok=True)
        with self.dead_letter_path.open("a") as fh:
            fh.write(json.dumps(record) + "\n")
