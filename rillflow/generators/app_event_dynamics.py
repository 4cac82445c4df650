"""The non-periodic part of the app-event intensity: trends, holidays, releases, campaigns, outages.

Every factor is a seeded, deterministic function of (UTC minute, country, platform), so the
intensity stays exact (the oracle's ``expected_counts`` integrates it) and any time range, chunking
or country subset sees the same values. Schedules are drawn once per seed for
:data:`SCHEDULE_START`..:data:`SCHEDULE_END`, per country from a generator keyed by the country code
(a subset of countries sees the same dynamics as the whole world):

* **trend** — each country × platform grows or declines at its own annual log-rate
  (``N(PLATFORM_DRIFT[p], TREND_SD)`` per year, 0 at :data:`ANCHOR`): the platform mix drifts too;
* **public holidays** — the whole local calendar day × :data:`HOLIDAY_LIFT` (the calendar of
  :mod:`rillflow.generators.holidays`, local dates from the same tz database as the daily profile,
  so DST moves them with the clocks);
* **app releases** — per platform, every 3–6 weeks: activity jumps by 20–60 % and decays
  exponentially (half-life ~0.5–1.5 days) in every country;
* **campaigns** — per country, about every 45 days: 2–6 days at 1.15–1.5× on every platform;
* **outages** — per platform about every 3 weeks (20 min – 3 h down to 5–50 %), and per country
  about every 90 days (1–6 h down to 20–60 %): drops no forecaster can foresee.

The factors multiply the periodic rate; ``AppEventIntensity(dynamics=False)`` leaves them out (a
purely weekly process).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from rillflow.generators.holidays import FIRST_YEAR, LAST_YEAR, public_holidays

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)
SCHEDULE_START = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
SCHEDULE_END = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
MINUTES_PER_YEAR = 365.25 * 1440
#: mean annual log-growth per platform (ios, android, web): mobile grows, web declines
PLATFORM_DRIFT = (0.10, 0.15, -0.25)
TREND_SD = 0.25
HOLIDAY_LIFT = 1.3
RELEASE_GAP_DAYS = (21.0, 42.0)
RELEASE_LIFT = (0.2, 0.6)
RELEASE_HALF_LIFE_H = (12.0, 36.0)
RELEASE_SUPPORT_HALF_LIVES = 12
CAMPAIGN_EVERY_DAYS = 45.0
CAMPAIGN_DAYS = (2.0, 6.0)
CAMPAIGN_LIFT = (1.15, 1.5)
PLATFORM_OUTAGE_EVERY_DAYS = 21.0
PLATFORM_OUTAGE_MINUTES = (20.0, 180.0)
PLATFORM_OUTAGE_LEVEL = (0.05, 0.5)
COUNTRY_OUTAGE_EVERY_DAYS = 90.0
COUNTRY_OUTAGE_MINUTES = (60.0, 360.0)
COUNTRY_OUTAGE_LEVEL = (0.2, 0.6)
N_PLATFORMS = 3


def _minute(ts: datetime) -> int:
    return int(ts.timestamp() // 60)


def _country_key(iso2: str) -> int:
    return ord(iso2[0]) * 256 + ord(iso2[1])


def _poisson_times(rng: np.random.Generator, every_days: float, start: int, end: int) -> np.ndarray:
    """Event start minutes of a Poisson process with mean gap ``every_days`` over [start, end)."""
    n = rng.poisson((end - start) / (every_days * 1440))
    return np.sort(rng.uniform(start, end, n)).astype(np.int64)


class AppEventDynamics:
    """The seeded schedules of one seed and country list; :meth:`factors` evaluates them."""

    def __init__(self, seed: int, codes: tuple[str, ...]) -> None:
        self.codes = codes
        self.anchor = _minute(ANCHOR)
        start, end = _minute(SCHEDULE_START), _minute(SCHEDULE_END)
        n_c = len(codes)
        self.growth = np.empty((n_c, N_PLATFORMS))
        campaigns, outages = [], []
        for c, code in enumerate(codes):
            rng = np.random.default_rng([seed, 0xD1A, _country_key(code)])
            self.growth[c] = rng.normal(PLATFORM_DRIFT, TREND_SD)
            t = _poisson_times(rng, CAMPAIGN_EVERY_DAYS, start, end)
            length = rng.uniform(*CAMPAIGN_DAYS, t.size) * 1440
            campaigns.append(
                np.column_stack([np.full(t.size, c), t, t + length, rng.uniform(*CAMPAIGN_LIFT, t.size)])
            )
            t = _poisson_times(rng, COUNTRY_OUTAGE_EVERY_DAYS, start, end)
            length = rng.uniform(*COUNTRY_OUTAGE_MINUTES, t.size)
            outages.append(
                np.column_stack(
                    [np.full(t.size, c), t, t + length, rng.uniform(*COUNTRY_OUTAGE_LEVEL, t.size)]
                )
            )
        #: rows (country, start minute, end minute, factor)
        self.campaigns = np.concatenate(campaigns) if campaigns else np.empty((0, 4))
        self.country_outages = np.concatenate(outages) if outages else np.empty((0, 4))
        releases, platform_outages = [], []
        for p in range(N_PLATFORMS):
            rng = np.random.default_rng([seed, 0xD1A, 0, p])
            gaps = (
                rng.uniform(*RELEASE_GAP_DAYS, int((end - start) / (RELEASE_GAP_DAYS[0] * 1440)) + 1) * 1440
            )
            t = (start + np.cumsum(gaps)).astype(np.int64)
            t = t[t < end]
            half_life = rng.uniform(*RELEASE_HALF_LIFE_H, t.size) * 60
            releases.append(
                np.column_stack([np.full(t.size, p), t, half_life, rng.uniform(*RELEASE_LIFT, t.size)])
            )
            t = _poisson_times(rng, PLATFORM_OUTAGE_EVERY_DAYS, start, end)
            length = rng.uniform(*PLATFORM_OUTAGE_MINUTES, t.size)
            platform_outages.append(
                np.column_stack(
                    [np.full(t.size, p), t, t + length, rng.uniform(*PLATFORM_OUTAGE_LEVEL, t.size)]
                )
            )
        #: rows (platform, start minute, half-life minutes, lift)
        self.releases = np.concatenate(releases)
        #: rows (platform, start minute, end minute, factor)
        self.platform_outages = np.concatenate(platform_outages)
        first_day = SCHEDULE_START.date()
        self._day0 = (first_day - date(1970, 1, 1)).days
        n_days = (SCHEDULE_END.date() - first_day).days
        self.holiday = np.zeros((n_c, n_days), dtype=bool)
        for c, code in enumerate(codes):
            for year in range(FIRST_YEAR, LAST_YEAR + 1):
                for d in public_holidays(code, year):
                    self.holiday[c, (d - first_day).days] = True

    def factors(self, minutes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Multipliers (M, C, 3) for UTC minutes (M,) and each country's UTC offset (M, C) in minutes."""
        m = np.asarray(minutes, dtype=np.int64)
        n_c = len(self.codes)
        years = (m - self.anchor) / MINUTES_PER_YEAR
        out = np.exp(years[:, None, None] * self.growth[None, :, :])
        local_day = (m[:, None] + offsets) // 1440 - self._day0  # (M, C)
        inside = (local_day >= 0) & (local_day < self.holiday.shape[1])
        hol = np.zeros(local_day.shape, dtype=bool)
        cols = np.broadcast_to(np.arange(n_c), local_day.shape)
        hol[inside] = self.holiday[cols[inside], local_day[inside]]
        out *= np.where(hol, HOLIDAY_LIFT, 1.0)[:, :, None]
        if m.size == 0:
            return out
        lo, hi = int(m.min()), int(m.max()) + 1
        for table, axis in (
            (self.campaigns, "country"),
            (self.country_outages, "country"),
            (self.platform_outages, "platform"),
        ):
            live = table[(table[:, 1] < hi) & (table[:, 2] > lo)]
            for who, start, end, factor in live:
                rows = (m >= start) & (m < end)
                if axis == "country":
                    out[rows, int(who), :] *= factor
                else:
                    out[rows, :, int(who)] *= factor
        support = self.releases[:, 1] + RELEASE_SUPPORT_HALF_LIVES * self.releases[:, 2]
        live = self.releases[(self.releases[:, 1] < hi) & (support > lo)]
        for p, start, half_life, lift in live:
            age = m - start
            # the bump is defined as 0 from 12 half-lives on (below 0.03 %): every factor has finite support
            live_age = (age >= 0) & (age < RELEASE_SUPPORT_HALF_LIVES * half_life)
            bump = np.where(live_age, lift * np.exp2(-np.maximum(age, 0) / half_life), 0.0)
            out[:, :, int(p)] *= (1.0 + bump)[:, None]
        return out

    def holidays_between(self, first: date, last: date) -> dict[str, list[date]]:
        """Each country's table holidays in [first, last] (for documentation and tests)."""
        out = {}
        for c, code in enumerate(self.codes):
            lo, hi = (first - SCHEDULE_START.date()).days, (last - SCHEDULE_START.date()).days + 1
            days = np.nonzero(self.holiday[c, max(lo, 0) : max(hi, 0)])[0]
            out[code] = [first + timedelta(days=int(d) + max(lo, 0) - lo) for d in days]
        return out
