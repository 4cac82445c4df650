"""Values reach the SQL only as checked literals (the statements run on BigQuery unbound)."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboards.filters import Filters, from_inputs
from dashboards.sql import date_literal, in_list, view, where


def test_literals_and_lists() -> None:
    assert date_literal(dt.date(2024, 1, 9)) == "DATE '2024-01-09'"
    assert in_list("country_code", ["FR", "DE", "FR"]) == "country_code IN ('DE', 'FR')"
    assert where(None, "a = 1", "", "b = 2") == "WHERE a = 1 AND b = 2"
    assert where(None) == ""
    assert view("bi_daily_revenue") == "bi.bi_daily_revenue"


@pytest.mark.parametrize("value", ["DE'; DROP TABLE x; --", "a'b", "", "x" * 65, "DE)", "é"])
def test_unsafe_values_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        in_list("country_code", [value])
    with pytest.raises(ValueError):
        from_inputs(countries=[value])


def test_views_and_dates_are_checked() -> None:
    with pytest.raises(ValueError):
        view("bi_x; DROP TABLE y")
    with pytest.raises(ValueError):
        view("marts.fct_sales")
    with pytest.raises(TypeError):
        date_literal("2024-01-01")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        from_inputs(start="2024-01-01'; --")


def test_from_inputs_orders_the_range_and_bounds_the_window() -> None:
    f = from_inputs("2024-01-19T00:00:00", "2024-01-10", ["FR", "DE"], "ios", None, "12")
    assert f == Filters(dt.date(2024, 1, 10), dt.date(2024, 1, 19), ("DE", "FR"), ("ios",), (), 12)
    assert f.dates("d") == "d BETWEEN DATE '2024-01-10' AND DATE '2024-01-19'"
    assert Filters(start=dt.date(2024, 1, 10)).dates("d") == "d >= DATE '2024-01-10'"
    assert Filters().dates("d") is None and Filters().country("c") is None
    with pytest.raises(ValueError):
        from_inputs(hours=1000)
