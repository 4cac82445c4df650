from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from scipy import stats

import contracts
from contracts.app_event_codec import decode_batch, encode_batch
from rillflow.generators.app_events import AppEventModel, to_records
from rillflow.generators.diurnal import WEEKDAY_FACTORS

T0 = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, no DST transition that week anywhere


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by("event_id")


def test_same_seed_same_events_other_seed_differs() -> None:
    a = AppEventModel(200_000, seed=3).generate(T0, T0 + timedelta(minutes=30))
    b = AppEventModel(200_000, seed=3).generate(T0, T0 + timedelta(minutes=30))
    c = AppEventModel(200_000, seed=4).generate(T0, T0 + timedelta(minutes=30))
    assert a.num_rows > 1000 and a.equals(b)
    assert not a.equals(c)


def test_chunked_and_sharded_generation_equal_whole() -> None:
    model = AppEventModel(300_000, seed=11)
    start, end = T0 + timedelta(hours=3), T0 + timedelta(hours=4, minutes=10)
    whole = model.generate(start, end)
    cut = start + timedelta(minutes=17, seconds=31, microseconds=500_000)  # mid-minute, mid-hour
    chunks = pa.concat_tables([model.generate(start, cut), model.generate(cut, end)])
    assert chunks.equals(whole)
    shards = pa.concat_tables([model.generate(start, end, shard=(i, 3)) for i in range(3)])
    assert _sorted(shards).equals(_sorted(whole))
    fresh = AppEventModel(300_000, seed=11).generate(cut, end)
    assert fresh.equals(whole.filter(pa.compute.greater_equal(whole["event_ts"], pa.scalar(cut))))


def test_records_follow_the_avro_contract() -> None:
    table = AppEventModel(500_000, seed=5).generate(
        T0 + timedelta(hours=18), T0 + timedelta(hours=18, minutes=8)
    )
    avro_fields = [f["name"] for f in contracts.load_avro_schema("app_event")["fields"]]
    assert table.column_names == avro_fields
    assert table.schema.field("event_ts").type == pa.timestamp("us", tz="UTC")
    assert len(set(table["event_id"].to_pylist())) == table.num_rows
    records = to_records(table)
    for record in records:
        contracts.validate("app_event", record)
    types = {r["event_type"] for r in records}
    assert {"purchase", "review", "open"} <= types
    for r in records:
        assert (r["price"] is not None) == (r["event_type"] == "purchase") == (r["revenue_usd"] is not None)
        assert (r["rating"] is not None) == (r["event_type"] == "review")
    decoded = decode_batch(encode_batch(records[:200], "b1", "test", T0))
    assert [e["event_id"] for e in decoded["events"]] == [r["event_id"] for r in records[:200]]


def test_per_country_counts_within_poisson_bounds() -> None:
    model = AppEventModel(400_000, seed=21)
    start, end = T0 + timedelta(hours=6), T0 + timedelta(hours=12)
    events = model.generate(start, end)
    expected = model.expected_counts(start, end, freq_seconds=6 * 3600, by_platform=False).to_pandas()
    counts = events["country"].value_counts().to_pylist()
    observed = {c["values"]: c["counts"] for c in counts}
    big = expected[expected.expected > 30]
    assert len(big) > 60
    z = [(observed.get(row.country, 0) - row.expected) / np.sqrt(row.expected) for row in big.itertuples()]
    assert max(abs(v) for v in z) < 4.5
    assert abs(events.num_rows - expected.expected.sum()) < 4.5 * np.sqrt(expected.expected.sum())


def test_platform_split_matches_model() -> None:
    model = AppEventModel(400_000, seed=8, countries=["US", "IN", "JP", "BR"])
    start, end = T0 + timedelta(hours=1), T0 + timedelta(hours=5)
    events = model.generate(start, end).to_pandas()
    exp = model.expected_counts(start, end, freq_seconds=4 * 3600).to_pandas()
    obs = events.groupby(["country", "platform"]).size()
    for row in exp.itertuples():
        n = obs.get((row.country, row.platform), 0)
        assert abs(n - row.expected) < 4.5 * np.sqrt(row.expected) + 1, row


def test_country_shares_match_population_times_penetration_over_a_week() -> None:
    model = AppEventModel(20_000, seed=2, dynamics=False)  # the periodic part alone
    events = model.generate(T0, T0 + timedelta(days=7))
    expected_total = model.expected_counts(
        T0, T0 + timedelta(days=7), freq_seconds=7 * 86400, by_platform=False
    )
    np.testing.assert_allclose(
        np.array(expected_total["expected"]), 7 * 20_000 * model.country_share, rtol=1e-9
    )
    counts = events["country"].value_counts().to_pylist()
    obs = dict.fromkeys(model.codes, 0) | {c["values"]: c["counts"] for c in counts}
    exp = events.num_rows * model.country_share
    o, e = np.array([obs[c] for c in model.codes]), exp
    small = e < 5
    o = np.append(o[~small], o[small].sum())
    e = np.append(e[~small], e[small].sum())
    assert stats.chisquare(o, e).pvalue > 1e-3


@pytest.mark.parametrize("code", ["JP", "DE", "US", "BR", "IN", "AU"])
def test_diurnal_peak_is_at_the_configured_local_hour(code: str) -> None:
    model = AppEventModel(250_000, seed=9, countries=[code], peak_hour=20, dynamics=False)
    local = (
        model.generate(T0, T0 + timedelta(days=3))["event_ts"].to_pandas().dt.tz_convert(model.zone_names[0])
    )
    one_local_day = local[local.dt.date == datetime(2026, 1, 6).date()]  # a whole local Tuesday everywhere
    hourly = one_local_day.dt.hour.value_counts()
    assert hourly.idxmax() == 20
    assert hourly.idxmin() in (7, 8, 9)  # the trough is 12 h from the peak


def test_intensity_follows_local_time_across_dst() -> None:
    model = AppEventModel(1_000_000, seed=0, countries=["US", "AU", "DE"], dynamics=False)
    rng = np.random.default_rng(0)
    start = datetime(2026, 3, 7, tzinfo=UTC).timestamp()  # US spring-forward on 2026-03-08
    ts = start + rng.uniform(0, 3 * 86400, 500)
    for idx, country in enumerate(model.countries):
        got = model.intensity(ts, idx)
        zone = ZoneInfo(country.timezone)
        for t, lam in zip(ts, got, strict=True):
            local = datetime.fromtimestamp(60 * (t // 60), tz=zone)
            hour = local.hour + local.minute / 60
            daily = 0.12 + np.exp(1.6 * np.cos(2 * np.pi * (hour - 20.5) / 24))
            ratio = lam / (model.base * model.weights[idx] * WEEKDAY_FACTORS[local.weekday()])
            assert ratio == pytest.approx(daily / _daily_mean(), rel=1e-9)


def _daily_mean() -> float:
    hours = np.arange(1440) / 60
    return float((0.12 + np.exp(1.6 * np.cos(2 * np.pi * (hours - 20.5) / 24))).mean())


def test_expected_counts_integrate_the_intensity() -> None:
    model = AppEventModel(1_000_000, seed=0)
    start = T0 + timedelta(hours=7)
    table = model.expected_counts(start, start + timedelta(hours=2), freq_seconds=3600).to_pandas()
    assert set(table.columns) == {"bucket_start", "country", "platform", "expected"}
    us = model.codes.index("US")
    minutes = start.timestamp() + 60 * np.arange(60)
    first_hour_us = table[
        (table.country == "US") & (table.bucket_start == pd.Timestamp(start))
    ].expected.sum()
    assert first_hour_us == pytest.approx(float((model.intensity(minutes, us) * 60).sum()), rel=1e-12)
    periodic = AppEventModel(1_000_000, seed=0, dynamics=False)
    week = periodic.expected_counts(T0, T0 + timedelta(days=7), freq_seconds=86400, by_platform=False)
    assert sum(week["expected"].to_pylist()) == pytest.approx(7_000_000, rel=1e-9)
