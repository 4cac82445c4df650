from zoneinfo import available_timezones

from rillflow.generators.countries import load_countries, online_weights, select_countries


def test_country_table_is_large_unique_and_plausible() -> None:
    countries = load_countries()
    assert len(countries) >= 150
    codes = [c.iso2 for c in countries]
    assert len(set(codes)) == len(codes)
    zones = available_timezones()
    for c in countries:
        assert len(c.iso2) == 2 and c.iso2.isupper() and c.iso2.isalpha()
        assert c.timezone in zones, c
        assert 10_000 <= c.population <= 1_500_000_000, c
        assert 5.0 <= c.internet_users_pct <= 100.0, c


def test_known_anchors() -> None:
    by_code = {c.iso2: c for c in load_countries()}
    india, us, china = by_code["IN"], by_code["US"], by_code["CN"]
    assert 1.38e9 < india.population < 1.46e9 and 40 < india.internet_users_pct < 55
    assert 3.2e8 < us.population < 3.45e8 and 88 < us.internet_users_pct < 96
    assert 1.39e9 < china.population < 1.43e9
    assert abs(sum(c.population for c in load_countries()) / 7.9e9 - 1) < 0.06  # most of the world


def test_select_countries_and_weights() -> None:
    chosen = select_countries(["US", "IN"])
    assert [c.iso2 for c in chosen] == ["IN", "US"]
    w = online_weights(chosen)
    assert w[0] == chosen[0].population * chosen[0].internet_users_pct / 100
    try:
        select_countries(["XX"])
    except ValueError as exc:
        assert "XX" in str(exc)
    else:
        raise AssertionError("unknown code accepted")
