"""The TRUE intensity of the app-event process, shared by the generator and the model scoring.

``λ_c,p(t) = base × population_c × internet_share_c × activity(local minute of week) × mix_c,p ×
D_c,p(t)``, events per second, piecewise constant per UTC minute; a country's intensity is the sum
over its platforms. ``D`` is the seeded non-periodic part (:mod:`app_event_dynamics`: trends per
country × platform, public holidays, app releases, campaigns, outages); it is 1 with
``dynamics=False``. ``base`` makes a full week without ``D`` average ``events_per_day`` expected
events per day over all countries (each local day has a mean activity of exactly 1 before the
weekday factors, so a weekday-free day integrates to exactly ``events_per_day``; the weekend lift
moves a given day by a few percent). With ``D``, volumes drift from that by the trends (0 at
2026-01-01), bursts and drops.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from rillflow.generators.app_event_dynamics import AppEventDynamics
from rillflow.generators.countries import Country, online_weights, select_countries
from rillflow.generators.diurnal import (
    MINUTES_PER_DAY,
    epoch_minute,
    local_minute_of_week,
    offsets_for_minutes,
    weekly_activity,
)

PLATFORMS = ("ios", "android", "web")
#: iOS share in markets where it is known to lead or be close to half of the installed base
_IOS_HEAVY = {"US": 0.56, "CA": 0.55, "JP": 0.66, "AU": 0.55, "GB": 0.50, "CH": 0.50, "DK": 0.52,
              "NO": 0.52, "SE": 0.50, "HK": 0.50, "NZ": 0.50, "TW": 0.45, "IE": 0.48, "NL": 0.45}  # fmt: skip
WEB_SHARE = 0.12


def platform_mix(countries: tuple[Country, ...]) -> np.ndarray:
    """Share of ios/android/web events per country (rows sum to 1); part of the true model.

    iOS share grows with internet penetration (a wealth proxy) unless the market is listed above.
    """
    mix = np.empty((len(countries), 3))
    for i, c in enumerate(countries):
        ios = _IOS_HEAVY.get(
            c.iso2, float(np.clip(0.05 + 0.35 * (c.internet_users_pct - 40) / 60, 0.04, 0.40))
        )
        mix[i] = ((1 - WEB_SHARE) * ios, (1 - WEB_SHARE) * (1 - ios), WEB_SHARE)
    return mix


def _as_utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError(f"timestamp must be timezone-aware: {ts!r}")
    return ts.astimezone(UTC)


class AppEventIntensity:
    """Country weights, time zones, activity profile and platform mix: the model, without sampling."""

    def __init__(
        self,
        events_per_day: float = 1_000_000,
        seed: int = 0,
        countries: list[str] | tuple[str, ...] | None = None,
        peak_hour: float = 20.0,
        dynamics: bool = True,
    ) -> None:
        if events_per_day <= 0:
            raise ValueError("events_per_day must be positive")
        if seed < 0:
            raise ValueError("seed must be a non-negative integer")
        self.events_per_day = float(events_per_day)
        self.seed = int(seed)
        self.peak_hour = peak_hour
        self.countries = select_countries(countries)
        self.codes = tuple(c.iso2 for c in self.countries)
        self.zone_names = tuple(c.timezone for c in self.countries)
        self.weights = online_weights(self.countries)
        self.country_share = self.weights / self.weights.sum()
        #: events per second per person online at activity 1
        self.base = self.events_per_day / (86400.0 * self.weights.sum())
        self.activity = weekly_activity(peak_hour)
        #: the platform mix without the dynamics (at the trends' anchor, outside bursts and drops)
        self.platform_mix = platform_mix(self.countries)
        self.dynamics = AppEventDynamics(self.seed, self.codes) if dynamics else None

    @property
    def n_countries(self) -> int:
        return len(self.countries)

    def platform_minute_rates(self, epoch_minutes: np.ndarray) -> np.ndarray:
        """λ (events/second) per UTC minute × country × platform: float64 (len(minutes), n_countries, 3)."""
        minutes = np.asarray(epoch_minutes, dtype=np.int64)
        offsets = offsets_for_minutes(self.zone_names, minutes)
        periodic = self.base * self.weights[None, :] * self.activity[local_minute_of_week(minutes, offsets)]
        rates = periodic[:, :, None] * self.platform_mix[None, :, :]
        if self.dynamics is not None:
            rates *= self.dynamics.factors(minutes, offsets)
        return rates

    def minute_rates(self, epoch_minutes: np.ndarray) -> np.ndarray:
        """λ (events/second) for each UTC minute × country: float64 (len(minutes), n_countries)."""
        return self.platform_minute_rates(epoch_minutes).sum(axis=2)

    def platform_shares(self, epoch_minutes: np.ndarray) -> np.ndarray:
        """Each platform's share of a country's events per UTC minute: (len(minutes), n_countries, 3)."""
        rates = self.platform_minute_rates(epoch_minutes)
        return rates / rates.sum(axis=2, keepdims=True)

    def intensity(
        self, ts_utc_seconds: np.ndarray, country_idx: int | np.ndarray, platform: int | None = None
    ) -> np.ndarray:
        """True λ_c(t) in events/second at UTC epoch seconds ``ts`` for country index(es) (broadcast).

        With ``platform`` (an index into :data:`PLATFORMS`), that platform's part λ_c,p(t).
        """
        ts = np.asarray(ts_utc_seconds, dtype=np.float64)
        idx = np.broadcast_to(np.asarray(country_idx, dtype=np.int64), ts.shape)
        minutes = np.floor(ts / 60.0).astype(np.int64)
        flat_m, flat_c = minutes.ravel(), idx.ravel()
        unique, inverse = np.unique(flat_m, return_inverse=True)
        rates = self.platform_minute_rates(unique)[inverse.ravel(), flat_c]  # (N, 3)
        out = rates.sum(axis=1) if platform is None else rates[:, platform]
        return out.reshape(ts.shape)

    def expected_minute_counts(self, first_minute: int, n_minutes: int) -> np.ndarray:
        """∫λ over each minute (= λ × 60, exact for a piecewise-constant λ): (n_minutes, n_countries)."""
        return self.minute_rates(np.arange(first_minute, first_minute + n_minutes)) * 60.0

    def expected_counts(
        self, start: datetime, end: datetime, freq_seconds: int = 3600, by_platform: bool = True
    ) -> pa.Table:
        """Expected event counts per bucket × country (× platform): the forecasting ground truth.

        Columns: ``bucket_start`` (timestamp[us, UTC]), ``country``, [``platform``], ``expected``.
        Buckets start at ``start`` every ``freq_seconds`` (a multiple of 60); the last may be partial.
        """
        start, end = _as_utc(start), _as_utc(end)
        if freq_seconds <= 0 or freq_seconds % 60:
            raise ValueError("freq_seconds must be a positive multiple of 60")
        if start.second or start.microsecond or end.second or end.microsecond:
            raise ValueError("start and end must fall on whole minutes")
        m0, m1 = epoch_minute(start), epoch_minute(end)
        if m1 <= m0:
            raise ValueError("end must be after start")
        per_bucket = freq_seconds // 60
        n_buckets = -(-(m1 - m0) // per_bucket)
        totals = np.zeros((n_buckets, self.n_countries, 3))
        for day_start in range(m0, m1, MINUTES_PER_DAY):
            n = min(MINUTES_PER_DAY, m1 - day_start)
            mu = self.platform_minute_rates(np.arange(day_start, day_start + n)) * 60.0
            np.add.at(totals, (np.arange(day_start, day_start + n) - m0) // per_bucket, mu)
        bucket_us = (m0 * 60 + np.arange(n_buckets, dtype=np.int64) * freq_seconds) * 1_000_000
        n_c = self.n_countries
        if not by_platform:
            return pa.table(
                {
                    "bucket_start": pa.array(np.repeat(bucket_us, n_c), pa.timestamp("us", tz="UTC")),
                    "country": pa.array(np.tile(np.array(self.codes), n_buckets)),
                    "expected": pa.array(totals.sum(axis=2).ravel()),
                }
            )
        return pa.table(
            {
                "bucket_start": pa.array(np.repeat(bucket_us, n_c * 3), pa.timestamp("us", tz="UTC")),
                "country": pa.array(np.tile(np.repeat(np.array(self.codes), 3), n_buckets)),
                "platform": pa.array(np.tile(np.array(PLATFORMS), n_buckets * n_c)),
                "expected": pa.array(totals.ravel()),
            }
        )
