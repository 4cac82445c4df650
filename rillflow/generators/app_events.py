"""App-store user events: a non-homogeneous Poisson process over countries (vectorized).

Counts: for every UTC hour one generator seeded by ``(seed, hour)`` draws
``N[minute, country] ~ Poisson(∫λ over the minute)`` for the whole hour, so any range, any
chunking and any country shard sees the same counts. Each event's attributes are hashes of
``(seed, minute, country, sequence)`` (see :mod:`hashing`): its time is uniform inside the minute,
its platform follows the country's platform shares of that minute (the mix moved by the per-platform
trends, releases and outages of :mod:`app_event_dynamics`), its user comes from the country ×
platform pool.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rillflow.generators.app_event_intensity import PLATFORMS, AppEventIntensity, _as_utc
from rillflow.generators.diurnal import epoch_minute
from rillflow.generators.hashing import (
    bits,
    char_matrix,
    fixed_width_strings,
    hex_matrix,
    mix64,
    seed_key,
    stream,
    unit_float,
)

EVENT_TYPES = ("install", "open", "view", "search", "purchase", "review", "update", "uninstall")
EVENT_TYPE_P = (0.07, 0.34, 0.28, 0.14, 0.05, 0.03, 0.06, 0.03)
RATING_P = (0.06, 0.06, 0.13, 0.30, 0.45)
PRICE_TIERS_USD = (0.99, 1.99, 2.99, 4.99, 9.99, 19.99, 49.99)
#: local currency units per USD (approximate 2024 averages); countries not listed pay in USD
FX_PER_USD = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.0, "INR": 83.5, "BRL": 5.4, "CNY": 7.2,
              "KRW": 1360.0, "CAD": 1.37, "AUD": 1.52, "MXN": 18.3, "TRY": 32.8, "IDR": 15900.0,
              "CHF": 0.88, "SEK": 10.6, "PLN": 3.98, "ZAR": 18.3, "RUB": 92.0, "NGN": 1480.0}  # fmt: skip
_ZERO_DECIMALS = {"JPY", "KRW", "IDR"}
_COUNTRY_CURRENCY = {"GB": "GBP", "JP": "JPY", "IN": "INR", "BR": "BRL", "CN": "CNY", "KR": "KRW", "CA": "CAD",
                     "AU": "AUD", "MX": "MXN", "TR": "TRY", "ID": "IDR", "CH": "CHF", "SE": "SEK", "PL": "PLN",
                     "ZA": "ZAR", "RU": "RUB", "NG": "NGN"}  # fmt: skip
_EURO = set(
    [
        "AT",
        "BE",
        "CY",
        "DE",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PT",
        "SI",
        "SK",
    ]
)
DEVICES = {"ios": ("iphone", "iphone", "iphone", "ipad"),
           "android": ("galaxy", "pixel", "xiaomi", "oppo", "motorola", "galaxy"),
           "web": ("desktop", "desktop", "laptop", "chromebook")}  # fmt: skip
OS_VERSIONS = {"ios": ("17.5", "17.6", "18.1", "18.2"), "android": ("12", "13", "14", "15"),
               "web": ("windows-11", "windows-10", "macos-14", "linux")}  # fmt: skip
_PLATFORM_LETTER = char_matrix(["i", "a", "w"])
_EVENTS_PER_USER_DAY = 25.0
_MAX_BLOCK_EVENTS = 1 << 20

APP_EVENT_ARROW_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()), ("event_ts", pa.timestamp("us", tz="UTC")), ("user_id", pa.string()),
        ("country", pa.string()), ("platform", pa.string()), ("app_id", pa.string()),
        ("event_type", pa.string()), ("session_id", pa.string()), ("price", pa.float64()),
        ("currency", pa.string()), ("revenue_usd", pa.float64()), ("rating", pa.int32()),
        ("app_version", pa.string()), ("device", pa.string()), ("os_version", pa.string()),
    ]
)  # fmt: skip


def _currency_of(iso2: str) -> str:
    return "EUR" if iso2 in _EURO else _COUNTRY_CURRENCY.get(iso2, "USD")


class AppEventModel(AppEventIntensity):
    """The app-event process: true intensity (inherited) plus deterministic, vectorized sampling."""

    def __init__(
        self,
        events_per_day: float = 1_000_000,
        seed: int = 0,
        countries: list[str] | tuple[str, ...] | None = None,
        peak_hour: float = 20.0,
        n_apps: int = 2000,
        dynamics: bool = True,
    ) -> None:
        super().__init__(events_per_day, seed, countries, peak_hour, dynamics)
        self._key = seed_key(self.seed, 0xA77E)
        self._id_prefix = np.frombuffer(b"e" + f"{int(self._key) & 0xFFFFFFFF:08x}".encode(), np.uint8)
        daily = self.events_per_day * self.country_share[:, None] * self.platform_mix
        self.user_pool = np.maximum(50, np.round(daily / _EVENTS_PER_USER_DAY)).astype(np.int64)
        self._country_chars = char_matrix(list(self.codes))
        self._event_cum = np.round(np.cumsum(EVENT_TYPE_P)[:-1] * 65536).astype(np.int64)
        self._rating_cum = np.round(np.cumsum(RATING_P)[:-1] * 256).astype(np.int64)
        self.n_apps = n_apps
        app_idx = np.arange(n_apps)
        self._app_ids = pa.array([f"app-{i:05d}" for i in app_idx])
        self._app_versions = pa.array([f"{1 + i % 6}.{(i * 7) % 23}.{(i * 13) % 10}" for i in app_idx])
        self._app_price_usd = np.array(PRICE_TIERS_USD)[
            mix64(app_idx.astype(np.uint64)) % len(PRICE_TIERS_USD)
        ]
        currencies = sorted(FX_PER_USD)
        self._currencies = pa.array(currencies)
        self._fx = np.array([FX_PER_USD[c] for c in currencies])
        self._decimals = np.array([0 if c in _ZERO_DECIMALS else 2 for c in currencies])
        self._country_currency = np.array([currencies.index(_currency_of(c)) for c in self.codes])
        self._devices = pa.array([d for p in PLATFORMS for d in DEVICES[p]])
        self._device_count = np.array([len(DEVICES[p]) for p in PLATFORMS])
        self._device_offset = np.cumsum(self._device_count) - self._device_count
        self._os_versions = pa.array([o for p in PLATFORMS for o in OS_VERSIONS[p]])

    # ------------------------------------------------------------------ counts
    def minute_counts(self, first_minute: int, n_minutes: int) -> np.ndarray:
        """Poisson event counts per UTC minute × country, int64 (n_minutes, n_countries)."""
        out = np.empty((n_minutes, self.n_countries), dtype=np.int64)
        first_hour, last_hour = first_minute // 60, (first_minute + n_minutes - 1) // 60
        for hour in range(first_hour, last_hour + 1):
            rng = np.random.default_rng([self.seed, 0x5EED, hour])
            counts = rng.poisson(self.expected_minute_counts(hour * 60, 60))
            lo, hi = max(hour * 60, first_minute), min(hour * 60 + 60, first_minute + n_minutes)
            out[lo - first_minute : hi - first_minute] = counts[lo - hour * 60 : hi - hour * 60]
        if out.max(initial=0) >= 1 << 24:
            raise ValueError("more than 2^24 events in one country-minute; lower events_per_day")
        return out

    # ------------------------------------------------------------------ sampling
    def generate(self, start: datetime, end: datetime, shard: tuple[int, int] | None = None) -> pa.Table:
        """Events with ``start <= event_ts < end`` in time order (countries ``idx % n == i`` only when ``shard=(i, n)``)."""
        start, end = _as_utc(start), _as_utc(end)
        if end <= start:
            return APP_EVENT_ARROW_SCHEMA.empty_table()
        m0 = epoch_minute(start)
        m1 = epoch_minute(end) + (1 if (end.second or end.microsecond) else 0)
        counts = self.minute_counts(m0, m1 - m0)
        if shard is not None:
            i, n = shard
            if not 0 <= i < n:
                raise ValueError(f"shard must be (i, n) with 0 <= i < n, got {shard}")
            counts[:, np.arange(self.n_countries) % n != i] = 0
        start_us, end_us = _epoch_us(start), _epoch_us(end)
        tables, per_minute = [], counts.sum(axis=1)
        lo = 0
        while lo < len(per_minute):
            hi = lo + max(
                1, int(np.searchsorted(np.cumsum(per_minute[lo:]), _MAX_BLOCK_EVENTS, side="right"))
            )
            tables.append(self._events(m0 + lo, counts[lo:hi], start_us, end_us))
            lo = hi
        return pa.concat_tables(tables) if tables else APP_EVENT_ARROW_SCHEMA.empty_table()

    def _events(self, first_minute: int, counts: np.ndarray, start_us: int, end_us: int) -> pa.Table:
        flat = counts.ravel()
        cell = np.repeat(np.arange(flat.size, dtype=np.int64), flat)
        n_c = self.n_countries
        minute = first_minute + cell // n_c
        country = cell % n_c
        seq = np.arange(cell.size, dtype=np.int64) - np.repeat(np.cumsum(flat) - flat, flat)
        key = ((minute << 32) | (country << 24) | seq).astype(np.uint64) ^ self._key
        ts_us = minute * 60_000_000 + (unit_float(stream(key, 1)) * 60_000_000).astype(np.int64)
        keep = (ts_us >= start_us) & (ts_us < end_us)
        # time order (ties: minute, country, seq) makes any chunking concatenate to the whole
        order = np.argsort(ts_us, kind="stable")
        if not keep.all():
            order = order[keep[order]]
        n_minutes = counts.shape[0]
        shares = self.platform_shares(np.arange(first_minute, first_minute + n_minutes))
        cum = np.cumsum(shares, axis=2)[:, :, :2]  # (minutes, countries, 2)
        minute, country = minute[order], country[order]
        return self._columns(
            key[order], minute, country, seq[order], ts_us[order], cum[minute - first_minute, country]
        )

    def _columns(self, key, minute, country, seq, ts_us, cum) -> pa.Table:  # type: ignore[no-untyped-def]
        u_platform = unit_float(stream(key, 2))
        platform = (u_platform >= cum[:, 0]).astype(np.int64) + (u_platform >= cum[:, 1])
        u_user = unit_float(stream(key, 3))
        user_idx = (self.user_pool[country, platform] * u_user * u_user).astype(np.int64)
        user_key = ((country << 40) | (platform << 32) | user_idx).astype(np.uint64) ^ self._key
        user_hash = mix64(user_key)
        h = stream(key, 4)
        event_type = np.searchsorted(self._event_cum, bits(h, 0, 16), side="right")
        u_app = bits(h, 16, 24) / float(1 << 24)
        app = (self.n_apps * u_app * u_app).astype(np.int64)
        rating_idx = np.searchsorted(self._rating_cum, bits(h, 40, 8), side="right")
        window = (ts_us // 1_800_000_000).astype(np.uint64)
        session = mix64(user_hash ^ mix64(window))
        is_purchase, is_review = event_type == 4, event_type == 5
        cur = self._country_currency[country]
        price = np.round(self._app_price_usd[app] * self._fx[cur] * 100) / 100
        price = np.where(self._decimals[cur] == 0, np.round(price), price)
        revenue = np.round(price / self._fx[cur], 4)
        device = self._device_offset[platform] + bits(user_hash, 0, 8) % self._device_count[platform]
        os_v = platform * 4 + bits(user_hash, 8, 8) % 4
        n = key.size
        country_chars = self._country_chars[country]
        columns = {
            "event_id": fixed_width_strings(
                np.broadcast_to(self._id_prefix, (n, 9)),
                hex_matrix(minute, 8),
                country_chars,
                hex_matrix(seq, 6),
            ),
            "event_ts": pa.array(ts_us, pa.timestamp("us", tz="UTC")),
            "user_id": fixed_width_strings(
                np.full((n, 1), ord("u"), np.uint8),
                country_chars,
                _PLATFORM_LETTER[platform],
                hex_matrix(user_idx, 8),
            ),
            "country": fixed_width_strings(country_chars),
            "platform": pc.take(pa.array(PLATFORMS), platform),
            "app_id": pc.take(self._app_ids, app),
            "event_type": pc.take(pa.array(EVENT_TYPES), event_type),
            "session_id": fixed_width_strings(np.full((n, 1), ord("s"), np.uint8), hex_matrix(session, 16)),
            "price": pa.array(price, mask=~is_purchase),
            "currency": pc.take(self._currencies, pa.array(cur, mask=~is_purchase)),
            "revenue_usd": pa.array(revenue, mask=~is_purchase),
            "rating": pa.array((rating_idx + 1).astype(np.int32), mask=~is_review),
            "app_version": pc.take(self._app_versions, app),
            "device": pc.take(self._devices, device),
            "os_version": pc.take(self._os_versions, os_v),
        }
        return pa.Table.from_pydict(columns, schema=APP_EVENT_ARROW_SCHEMA)


def _epoch_us(ts: datetime) -> int:
    delta = ts - datetime(1970, 1, 1, tzinfo=ts.tzinfo)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def to_records(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as dicts ready for ``contracts.app_event_codec.encode_batch`` (event_ts an aware datetime)."""
    missing = [f for f in APP_EVENT_ARROW_SCHEMA.names if f not in table.column_names]
    if missing:
        raise ValueError(f"not an app-event table, missing columns: {missing}")
    return table.select(APP_EVENT_ARROW_SCHEMA.names).to_pylist()
