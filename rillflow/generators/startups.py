"""An evolving startup population: foundings, funding rounds, exits, closures and hiring.

The timeline is simulated day by day from ``start`` (deterministic per (seed, day)); each
change produces a new version of a startup with ``updated_at`` = the time of the change.
``snapshot(at)`` is the latest version of every startup known at ``at``; ``changes(since,
until)`` the ``until`` state of those whose ``updated_at`` lies in ``(since, until]``, so applying
changes to an old snapshot yields the new snapshot.
"""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

SECTORS = ("fintech", "healthtech", "edtech", "ecommerce", "saas", "ai", "climate", "mobility", "biotech",
           "gaming", "cybersecurity", "proptech")  # fmt: skip
ROUNDS = ("pre_seed", "seed", "series_a", "series_b", "series_c", "series_d", "growth")
ROUND_SIZE_USD = (4e5, 2.5e6, 1.2e7, 3.5e7, 8e7, 1.6e8, 3e8)
HUBS = {"US": ("San Francisco", "New York", "Austin", "Boston"), "GB": ("London", "Cambridge"),
        "DE": ("Berlin", "Munich"), "FR": ("Paris", "Lyon"), "IN": ("Bengaluru", "Mumbai"), "IL": ("Tel Aviv",),
        "SG": ("Singapore",), "BR": ("Sao Paulo",), "SE": ("Stockholm",), "NL": ("Amsterdam",),
        "CA": ("Toronto", "Montreal"), "ES": ("Barcelona", "Madrid"), "NG": ("Lagos",), "JP": ("Tokyo",)}  # fmt: skip
HUB_SHARE = (0.38, 0.10, 0.08, 0.06, 0.08, 0.04, 0.04, 0.04, 0.03, 0.03, 0.04, 0.03, 0.02, 0.03)
_SYLLABLES = (
    "zen",
    "lo",
    "vi",
    "ra",
    "nex",
    "qua",
    "tor",
    "fy",
    "lu",
    "mo",
    "sy",
    "ka",
    "tri",
    "vo",
    "pix",
    "del",
)
#: daily event probabilities for an active startup
P_ROUND, P_HEADCOUNT, P_ACQUIRED, P_CLOSED, P_IPO = 1 / 420, 1 / 45, 1 / 4000, 1 / 2500, 1 / 1500
NEW_PER_DAY = 1.2


def rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


class StartupUniverse:
    """Startup states over time; versions are simulated lazily up to the latest time asked for."""

    def __init__(self, seed: int = 0, start: date = date(2026, 1, 1), initial: int = 500) -> None:
        self.seed, self.start = int(seed), start
        self._t0 = datetime(start.year, start.month, start.day, tzinfo=UTC)
        #: per startup: version times (sorted) and the records
        self._times: list[list[datetime]] = []
        self._versions: list[list[dict[str, Any]]] = []
        self._simulated_days = 0
        rng = np.random.default_rng([self.seed, 0x57A7])
        for _ in range(initial):
            age_days = int(rng.integers(60, 12 * 365))
            founded = start - timedelta(days=age_days)
            updated = self._t0 - timedelta(seconds=int(rng.integers(1, min(age_days, 540) * 86400)))
            record = self._new_record(rng, founded, updated)
            age_years = (start - founded).days / 365
            n_rounds = int(min(rng.poisson(age_years * 0.6), len(ROUNDS)))
            for r in range(n_rounds):
                record["total_funding_usd"] += round(ROUND_SIZE_USD[r] * rng.lognormal(0, 0.4), -3)
                record["last_round"] = ROUNDS[r]
            if n_rounds:
                last = max(founded, (updated - timedelta(days=int(rng.integers(0, 200)))).date())
                record["last_round_date"] = last.isoformat()
            record["employees"] = int(3 + record["total_funding_usd"] / 2.5e5 * rng.uniform(0.5, 1.5))
            if rng.random() < 0.08:
                record["status"] = ("acquired", "closed", "ipo")[int(rng.choice(3, p=(0.5, 0.45, 0.05)))]
                record["employees"] = 0 if record["status"] == "closed" else record["employees"]
            self._add_version(record)

    # ------------------------------------------------------------------ building blocks
    def _new_record(self, rng: np.random.Generator, founded: date, updated: datetime) -> dict[str, Any]:
        idx = len(self._versions)
        name = "".join(_SYLLABLES[i] for i in rng.integers(len(_SYLLABLES), size=int(rng.integers(2, 4))))
        name = name.capitalize() + (
            "" if rng.random() < 0.6 else (" AI", " Labs", " Health", " Pay")[idx % 4]
        )
        country = list(HUBS)[int(rng.choice(len(HUBS), p=HUB_SHARE))]
        cities = HUBS[country]
        slug = name.lower().replace(" ", "")
        return {
            "startup_id": f"st-{idx + 1:06d}",
            "name": name,
            "sector": SECTORS[int(rng.integers(len(SECTORS)))],
            "country": country,
            "city": cities[int(rng.integers(len(cities)))] if rng.random() < 0.95 else None,
            "founded_date": founded.isoformat(),
            "status": "active",
            "last_round": None,
            "last_round_date": None,
            "total_funding_usd": 0.0,
            "employees": int(rng.integers(1, 8)),
            "website": f"https://{slug}{idx + 1}.io" if rng.random() < 0.9 else None,
            "updated_at": rfc3339(updated),
        }

    def _add_version(self, record: dict[str, Any]) -> None:
        idx = int(record["startup_id"].split("-")[1]) - 1
        when = _parse(record["updated_at"])
        if idx == len(self._versions):
            self._times.append([when])
            self._versions.append([record])
        else:
            self._times[idx].append(when)
            self._versions[idx].append(record)

    def _simulate_day(self, day: int) -> None:
        d = self.start + timedelta(days=day)
        rng = np.random.default_rng([self.seed, 0xDA7, d.toordinal()])
        current = [v[-1] for v in self._versions]
        active = [i for i, rec in enumerate(current) if rec["status"] == "active"]
        u = rng.random((len(active), 5))
        midnight = self._t0 + timedelta(days=day)
        for row, i in enumerate(active):
            if not (u[row] < (P_ROUND, P_HEADCOUNT, P_ACQUIRED, P_CLOSED, P_IPO)).any():
                continue
            rec = dict(current[i])
            when = midnight + timedelta(seconds=int(rng.integers(1, 86400)))
            if when <= _parse(rec["updated_at"]):
                continue
            if u[row, 0] < P_ROUND:
                nxt = (
                    0
                    if rec["last_round"] is None
                    else min(ROUNDS.index(rec["last_round"]) + 1, len(ROUNDS) - 1)
                )
                rec["last_round"], rec["last_round_date"] = ROUNDS[nxt], d.isoformat()
                rec["total_funding_usd"] = rec["total_funding_usd"] + round(
                    ROUND_SIZE_USD[nxt] * rng.lognormal(0, 0.4), -3
                )
                rec["employees"] = int(rec["employees"] * rng.uniform(1.2, 1.8)) + 2
            if u[row, 1] < P_HEADCOUNT:
                rec["employees"] = max(1, int(round(rec["employees"] * rng.uniform(0.85, 1.2))))
            if u[row, 2] < P_ACQUIRED:
                rec["status"] = "acquired"
            elif u[row, 3] < P_CLOSED:
                rec["status"], rec["employees"] = "closed", 0
            elif u[row, 4] < P_IPO and rec["last_round"] in ("series_c", "series_d", "growth"):
                rec["status"] = "ipo"
            rec["updated_at"] = rfc3339(when)
            self._add_version(rec)
        for _ in range(int(rng.poisson(NEW_PER_DAY))):
            when = midnight + timedelta(seconds=int(rng.integers(1, 86400)))
            self._add_version(self._new_record(rng, d, when))

    def _simulate_until(self, at: datetime) -> None:
        last_day = (at.astimezone(UTC) - self._t0).days
        while self._simulated_days <= last_day:
            self._simulate_day(self._simulated_days)
            self._simulated_days += 1

    # ------------------------------------------------------------------ queries
    def _state(self, i: int, at: datetime) -> dict[str, Any] | None:
        k = bisect.bisect_right(self._times[i], at)
        return dict(self._versions[i][k - 1]) if k else None

    def snapshot(self, at: datetime) -> list[dict[str, Any]]:
        """Every startup's latest version with ``updated_at <= at``, ordered by startup_id."""
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        self._simulate_until(at)
        return [s for i in range(len(self._versions)) if (s := self._state(i, at)) is not None]

    def changes(self, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """State as of ``until`` of each startup whose ``updated_at`` is in ``(since, until]``."""
        return [s for s in self.snapshot(until) if _parse(s["updated_at"]) > since]
