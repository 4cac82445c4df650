"""The non-periodic part of the app-event intensity: seeded, exact, and what its docstring says."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from rillflow.generators.app_event_dynamics import HOLIDAY_LIFT, AppEventDynamics
from rillflow.generators.app_events import AppEventModel
from rillflow.generators.diurnal import epoch_minute, offsets_for_minutes
from rillflow.generators.holidays import easter, is_holiday, public_holidays


def _only_calendar(dyn: AppEventDynamics) -> AppEventDynamics:
    """The same schedules without bursts and drops: trend × holidays only."""
    for name in ("campaigns", "country_outages", "platform_outages", "releases"):
        setattr(dyn, name, getattr(dyn, name)[:0])
    return dyn


def test_dynamics_are_seeded_and_do_not_depend_on_the_country_subset() -> None:
    minutes = np.arange(
        epoch_minute(datetime(2026, 2, 1, tzinfo=UTC)), epoch_minute(datetime(2026, 2, 3, tzinfo=UTC))
    )
    world, pair = AppEventModel(20_000, seed=4), AppEventModel(20_000, seed=4, countries=["US", "DE"])
    us_world = (
        world.platform_minute_rates(minutes)[:, world.codes.index("US")]
        / world.weights[world.codes.index("US")]
    )
    us_pair = (
        pair.platform_minute_rates(minutes)[:, pair.codes.index("US")] / pair.weights[pair.codes.index("US")]
    )
    np.testing.assert_allclose(us_world / world.base, us_pair / pair.base, rtol=1e-12)
    other = AppEventModel(20_000, seed=5, countries=["US", "DE"])
    assert not np.allclose(other.platform_minute_rates(minutes), pair.platform_minute_rates(minutes))


def test_holiday_lifts_the_local_calendar_day_and_follows_the_time_zone() -> None:
    codes = ("AU", "US")
    dyn = _only_calendar(AppEventDynamics(1, codes))
    zones = ("Australia/Sydney", "America/New_York")
    # Australia Day, 26 Jan 2026: local midnight is 13:00 UTC on the 25th (AEDT, UTC+11)
    start = epoch_minute(datetime(2026, 1, 25, 12, 0, tzinfo=UTC))
    minutes = np.arange(start, start + 180)
    f = dyn.factors(minutes, offsets_for_minutes(zones, minutes))[:, 0, 0]
    before, after = f[:60], f[60:120]
    assert after.mean() / before.mean() == pytest.approx(HOLIDAY_LIFT, rel=1e-4)
    # US Thanksgiving: the New York day, not the UTC day
    day = epoch_minute(datetime(2026, 11, 26, 3, 0, tzinfo=UTC))  # 22:00 on the 25th in New York
    m = np.array([day, day + 120])
    g = dyn.factors(m, offsets_for_minutes(zones, m))[:, 1, 0]
    assert g[1] / g[0] == pytest.approx(HOLIDAY_LIFT, rel=1e-4)


def test_holiday_calendar_comes_from_the_holidays_package() -> None:
    import holidays

    assert easter(2026) == date(2026, 4, 5) and easter(2027) == date(2027, 3, 28)
    us = public_holidays("US", 2026)
    assert (
        date(2026, 11, 26) in us and date(2026, 7, 4) in us and date(2026, 5, 25) in us
    )  # Thanksgiving, ...
    assert date(2026, 7, 3) in us  # the observed day of a Saturday Independence Day
    assert is_holiday("DE", date(2026, 4, 6)) and is_holiday("GB", date(2026, 12, 26))
    assert is_holiday("CN", date(2026, 2, 17)) and not is_holiday("CN", date(2026, 12, 25))
    assert all(is_holiday(code, date(2026, 1, 1)) for code in ("FJ", "NG", "JP"))
    assert is_holiday("IN", date(2026, 1, 26))  # Republic Day
    assert public_holidays("US", 2040) == frozenset()
    assert public_holidays("XX", 2026) == frozenset()  # a code the package does not know
    # national public holidays only: the package's own answer for the year, no regional days
    expected = set(holidays.country_holidays("DE", years=2026, categories=(holidays.PUBLIC,)))
    assert public_holidays("DE", 2026) == expected


def test_bursts_and_drops_are_in_the_intensity_and_the_oracle_stays_exact() -> None:
    model = AppEventModel(200_000, seed=2, countries=["US", "BR", "IN"])
    dyn = model.dynamics
    assert dyn is not None
    first = epoch_minute(datetime(2026, 1, 1, tzinfo=UTC))
    release = dyn.releases[(dyn.releases[:, 1] > first) & (dyn.releases[:, 0] == 1)][0]  # an Android release
    t0 = int(release[1])
    periodic = AppEventModel(200_000, seed=2, countries=["US", "BR", "IN"], dynamics=False)
    around = np.array([t0 - 1, t0])
    ratio = model.platform_minute_rates(around)[:, :, 1] / periodic.platform_minute_rates(around)[:, :, 1]
    assert np.allclose(ratio[1] / ratio[0], 1 + release[3], rtol=1e-3)  # the jump at the release minute
    # expected_counts integrates exactly what intensity() says, platform by platform
    start = datetime.fromtimestamp(t0 * 60, tz=UTC).replace(second=0)
    table = model.expected_counts(start, start + timedelta(hours=1)).to_pandas()
    ts = start.timestamp() + 60 * np.arange(60)
    for p, platform in enumerate(("ios", "android", "web")):
        got = table[(table.country == "BR") & (table.platform == platform)].expected.sum()
        assert got == pytest.approx(
            float(model.intensity(ts, model.codes.index("BR"), platform=p).sum() * 60), rel=1e-12
        )
    # what the generator draws follows the intensity with its bursts: the platform split included
    events = model.generate(start, start + timedelta(hours=2)).to_pandas()
    exp = model.expected_counts(start, start + timedelta(hours=2), freq_seconds=7200).to_pandas()
    obs = events.groupby(["country", "platform"]).size()
    for row in exp.itertuples():
        assert abs(obs.get((row.country, row.platform), 0) - row.expected) < 4.5 * np.sqrt(row.expected) + 1


def test_trends_move_country_and_platform_volumes() -> None:
    model = AppEventModel(20_000, seed=3, countries=["US", "IN"])
    dyn = _only_calendar(model.dynamics)  # type: ignore[arg-type]
    assert dyn is model.dynamics
    a = epoch_minute(datetime(2026, 3, 2, tzinfo=UTC))
    one_year = 365 * 1440 + 360  # 365.25 days
    rates = model.platform_minute_rates(np.array([a, a + one_year - 360]))
    base = AppEventModel(20_000, seed=3, countries=["US", "IN"], dynamics=False).platform_minute_rates(
        np.array([a, a + one_year - 360])
    )
    growth = np.log((rates[1] / base[1]) / (rates[0] / base[0]))
    np.testing.assert_allclose(growth, model.dynamics.growth * (one_year - 360) / (365.25 * 1440), rtol=1e-6)  # type: ignore[union-attr]
    assert np.ptp(model.dynamics.growth) > 0.1  # type: ignore[union-attr]
