"""Known-in-advance calendar inputs of the forecaster: public holidays, and the company's own plan.

* each series' local public holidays (:func:`holiday_flags`);
* the release and campaign calendar (:class:`KnownEvents`), when the configuration names one.

Holidays are public knowledge, so the forecaster may use them for the hours it forecasts. They come
from the same calendar the app-event generator uses (:mod:`rillflow.generators.holidays`), read in
each country's local time (:mod:`rillflow.generators.countries` time zones, DST included). A
country code the table does not know has no holidays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np

from rillflow.generators.countries import load_countries
from rillflow.generators.diurnal import offsets_for_minutes
from rillflow.generators.holidays import public_holidays

_EPOCH = date(1970, 1, 1)


@lru_cache(maxsize=8)
def _zones(countries: tuple[str, ...]) -> tuple[str, ...]:
    known = {c.iso2: c.timezone for c in load_countries()}
    return tuple(known.get(code, "UTC") for code in countries)


def country_offsets(countries: tuple[str, ...], epoch_hours: np.ndarray) -> np.ndarray:
    """UTC offset in minutes of each country's zone at the start of each hour: (len(hours), len(countries))."""
    hours = np.asarray(epoch_hours, dtype=np.int64)
    return np.asarray(offsets_for_minutes(_zones(countries), hours * 60), dtype=np.int64)


def holiday_flags(countries: tuple[str, ...], epoch_hours: np.ndarray) -> np.ndarray:
    """1.0 where the hour starting at ``epoch_hours`` (hours since the epoch, UTC) falls on a public
    holiday of the country in its local time; shape (len(epoch_hours), len(countries))."""
    hours = np.asarray(epoch_hours, dtype=np.int64)
    if hours.size == 0:
        return np.zeros((0, len(countries)))
    lo, hi = int(hours.min()), int(hours.max())
    span = np.arange(lo, hi + 1)
    local_day = (span[:, None] * 60 + offsets_for_minutes(_zones(countries), span * 60)) // 1440
    out = np.zeros(local_day.shape)
    first, last = int(local_day.min()), int(local_day.max())
    for j, code in enumerate(countries):
        days = {
            (d - _EPOCH).days
            for year in range((_EPOCH + timedelta(days=first)).year, (_EPOCH + timedelta(days=last)).year + 1)
            for d in public_holidays(code, year)
        }
        if days:
            out[:, j] = np.isin(local_day[:, j], np.fromiter(days, dtype=np.int64))
    return out[hours - lo]


@dataclass(frozen=True)
class KnownEvents:
    """The company's own calendar of app releases and marketing campaigns, known before they happen.

    A team plans its releases (per platform) and its campaigns (per country) weeks ahead, so their
    dates are legitimate known-future inputs, like public holidays; their effect (the lift) is not
    known and is left to the model. Outages are not in it: nobody schedules them. Times are UTC
    epoch minutes. :meth:`from_generator` reads the plan of the simulated company (the app-event
    generator's schedule for a seed); a deployment would read its release/campaign table instead.
    """

    #: country -> [(start minute, end minute)]
    campaigns: dict[str, list[tuple[float, float]]]
    #: platform -> [release minute]
    releases: dict[str, list[float]]

    @classmethod
    def from_generator(cls, seed: int, countries: tuple[str, ...]) -> KnownEvents:
        from rillflow.generators.app_event_dynamics import AppEventDynamics
        from rillflow.generators.app_event_intensity import PLATFORMS

        dyn = AppEventDynamics(seed, tuple(countries))
        campaigns: dict[str, list[tuple[float, float]]] = {c: [] for c in countries}
        for who, start, end, _lift in dyn.campaigns.tolist():
            campaigns[countries[int(who)]].append((start, end))
        releases: dict[str, list[float]] = {p: [] for p in PLATFORMS}
        for p, start, _half_life, _lift in dyn.releases.tolist():
            releases[PLATFORMS[int(p)]].append(start)
        return cls(campaigns, releases)

    def campaign_share(self, countries: tuple[str, ...], epoch_hours: np.ndarray) -> np.ndarray:
        """Share of each hour under a campaign of each country: (len(hours), len(countries))."""
        start = np.asarray(epoch_hours, dtype=np.float64) * 60.0
        out = np.zeros((start.size, len(countries)))
        if start.size == 0:
            return out
        first, end = float(start.min()), float(start.max()) + 60.0
        for j, code in enumerate(countries):
            # only the campaigns that overlap these hours (the others add nothing)
            for lo, hi in self.campaigns.get(code, ()):
                if hi > first and lo < end:
                    out[:, j] += (
                        np.clip(np.minimum(start + 60.0, hi) - np.maximum(start, lo), 0.0, 60.0) / 60.0
                    )
        return np.minimum(out, 1.0)

    def release_decay(
        self, platforms: tuple[str, ...], epoch_hours: np.ndarray, half_life_hours: float
    ) -> np.ndarray:
        """Σ over past releases of 2^(−age/half-life) at the middle of each hour: (len(hours), len(platforms))."""
        mid = np.asarray(epoch_hours, dtype=np.float64) * 60.0 + 30.0
        out = np.zeros((mid.size, len(platforms)))
        if mid.size == 0:
            return out
        last = float(mid.max())
        for j, p in enumerate(platforms):
            for t in self.releases.get(p, ()):
                if t > last:  # released after these hours: adds nothing
                    continue
                age = mid - t
                out[:, j] += np.where(
                    age >= 0, np.exp2(-np.maximum(age, 0.0) / (60.0 * half_life_hours)), 0.0
                )
        return out
