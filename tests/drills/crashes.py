"""kill -9 for the crash drills: pick victims from ``rillflow local status --json`` and kill each,
in turn, at a seeded random point while it works.

The drill picks its victims from the CLI's output; the killer thread then follows them through
the control endpoint the CLI reads (no stdout swapping in a thread). A victim is a ``processes``
row name of the status (``function:<name>``, ``streaming:drain``). A function is killed once it
has served a seeded random number of requests (up to its ``spread``; its ID-token front counts
them), in the middle of one if one comes within a second or two (short requests are rarely caught
in flight by a poll); a drain a seeded delay after its process appeared (a drain only exists while
the replay hands a day's messages to the streaming job); a victim of ``at`` (fake-gcs-server, up
all day) at a seeded time within its window after the drill started; a victim of ``where`` (a
pipeline's task process, which lives seconds) the first time its row is up and the test holds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from click.testing import CliRunner

from rillflow.commands.local import local_group


def status_processes() -> list[dict[str, Any]]:
    """The stack's processes, as ``rillflow local status --json`` prints them."""
    result = CliRunner().invoke(local_group, ["status", "--json"])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.output)["processes"]
    return rows


def live_processes(control: str) -> list[dict[str, Any]]:
    """The same rows from the control endpoint the CLI reads."""
    rows: list[dict[str, Any]] = requests.get(f"{control}/status", timeout=10).json()["processes"]
    return rows


@dataclass
class Kill:
    victim: str
    pid: int
    at_s: float  # seconds after the drill started
    in_flight: int  # requests the function was working on when it was killed


@dataclass
class Killer:
    """Kills ``victims`` in turn from a background thread; ``kills`` says what it did."""

    control: str
    victims: list[str]
    seed: int
    #: the longest the drill waits for its victims to work (those not killed by then: ``missed``)
    patience_s: float = 1800.0
    #: a function is killed after its n-th request, n seeded in [1, spread] (default 1)
    spread: dict[str, int] = field(default_factory=dict)
    #: how long a function that reached its n-th request may be waited for to be mid-request
    in_flight_wait_s: float = 2.0
    #: a drain is killed a seeded random delay in [0, max_delay_s] after it started
    max_delay_s: float = 1.5
    #: victims with no work in a calm day (the alert handler): killed idle, as soon as seen up
    anytime: frozenset[str] = frozenset()
    #: victims up all day (fake-gcs-server): killed at a seeded time in (low, high) seconds after the start
    at: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: victims killed as soon as their row is up and this holds (a pipeline task of a given kind)
    where: dict[str, Callable[[dict[str, Any]], bool]] = field(default_factory=dict)
    kills: list[Kill] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _t0: float = 0.0

    def start(self) -> Killer:
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="crash-drill", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        """Whichever victim not killed yet is due first is killed next, one at a time."""
        rng = random.Random(self.seed)
        left = list(self.victims)
        target = {v: rng.randint(1, max(1, self.spread.get(v, 1))) for v in left}
        when = {v: rng.uniform(*self.at[v]) for v in left if v in self.at}
        reached: dict[str, float] = {}
        deadline = time.monotonic() + self.patience_s
        while left and time.monotonic() < deadline and not self._stop.is_set():
            rows = {r["name"]: r for r in live_processes(self.control)}
            elapsed = time.monotonic() - self._t0
            due = [
                v
                for v in left
                if (
                    elapsed >= when[v] and (rows.get(v) or {}).get("state") == "up"
                    if v in when  # up all day: at its seeded time
                    else (rows.get(v) or {}).get("state") == "up" and self.where[v](rows[v])
                    if v in self.where  # comes and goes: the first time it is the right one
                    else self._due(v, rows.get(v), target[v], reached)
                )
            ]
            if not due:
                self._stop.wait(0.01)
                continue
            victim, row = due[0], rows[due[0]]
            if victim == "streaming:drain":
                if self._stop.wait(rng.uniform(0.0, self.max_delay_s)):
                    return
                now = {r["name"]: r for r in live_processes(self.control)}.get(victim)
                if now is None or now["pid"] != row["pid"] or now["state"] != "up":
                    continue  # that drain finished meanwhile: wait for the next one
            os.kill(int(row["pid"]), signal.SIGKILL)
            at = round(time.monotonic() - self._t0, 2)
            self.kills.append(Kill(victim, int(row["pid"]), at, int(row.get("in_flight") or 0)))
            left.remove(victim)
        self.missed.extend(left)

    def _due(self, victim: str, row: dict[str, Any] | None, target: int, reached: dict[str, float]) -> bool:
        if row is None or not row.get("pid") or row["state"] != "up":
            return False
        if victim == "streaming:drain" or victim in self.anytime:
            return True
        if int(row.get("requests") or 0) < target:
            return False
        since = reached.setdefault(victim, time.monotonic())
        return int(row.get("in_flight") or 0) > 0 or time.monotonic() - since > self.in_flight_wait_s
