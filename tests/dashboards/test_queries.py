"""The query functions against a small DuckDB warehouse: what each panel gets for given filters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dashboards import pages, queries
from dashboards.filters import Filters, from_inputs
from dashboards.serve import LocalWarehouse
from dashboards.views import NoWarehouse
from rillflow.warehouse import DuckDBWarehouse
from tests.dashboards.warehouse import write_stream

ALL = Filters()


def test_revenue_sums_per_day_and_channel_within_the_filters(warehouse: DuckDBWarehouse) -> None:
    df = queries.revenue_by_day_and_channel(warehouse, ALL)
    expected = sum(10.0 * (k + 1) + n for n in range(10) for k in range(1 + n % 3))
    assert len(df) == 19 and df["revenue_usd"].sum() == pytest.approx(expected)
    assert df["orders"].dtype == "int64"  # DuckDB's HUGEINT sums arrive as int64, as BigQuery's do
    one_day = queries.revenue_by_day_and_channel(
        warehouse, Filters(dt.date(2024, 1, 19), dt.date(2024, 1, 19))
    )
    assert one_day["order_date"].dt.date.unique().tolist() == [dt.date(2024, 1, 19)]
    store = queries.revenue_by_day_and_channel(warehouse, Filters(channels=("store",)))
    assert set(store["channel"]) == {"store"} and len(store) == 6
    france = queries.revenue_rows(warehouse, Filters(countries=("FR",)))
    assert set(france["country_code"]) == {"FR"} and len(france) == 6


def test_app_activity_is_per_hour_in_utc_days(warehouse: DuckDBWarehouse) -> None:
    df = queries.app_activity_by_hour(warehouse, ALL)
    assert len(df) == 6 and str(df["event_hour"].dt.tz) == "UTC"
    assert df["events"].tolist() == [3, 5, 7, 9, 11, 13]  # DE 2+h, FR 1+h
    assert queries.app_activity_by_hour(warehouse, Filters(countries=("FR",)))["events"].tolist() == [
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    assert queries.app_activity_by_hour(warehouse, Filters(end=dt.date(2024, 1, 18))).empty


def test_forecast_sums_series_and_keeps_actuals_only_where_complete(warehouse: DuckDBWarehouse) -> None:
    df = queries.forecast_by_hour(warehouse, ALL)
    assert len(df) == 6
    assert df["predicted"].iloc[0] == pytest.approx(2 * 4.5) and df["upper"].iloc[0] == pytest.approx(2 * 9.0)
    assert df["actual"].iloc[:2].tolist() == [11.0, 13.0]  # hour 4: DE 6 + FR 5; hour 5: 7 + 6
    assert df["actual"].iloc[2:].isna().all()
    accuracy = queries.forecast_accuracy(warehouse, Filters(countries=("DE",)))
    assert accuracy[["with_actual", "inside"]].iloc[0].tolist() == [2, 2]
    assert accuracy["mae"].iloc[0] == pytest.approx((abs(4.5 - 6) + abs(5.0 - 7)) / 2)
    rows = queries.forecast_rows(warehouse, ALL)
    assert len(rows) == 4 and rows["abs_error"].is_monotonic_decreasing


def test_customers_at_risk_filter_by_country_and_score(warehouse: DuckDBWarehouse) -> None:
    assert len(queries.customers_at_risk(warehouse, ALL)) == 8
    high = queries.customers_at_risk(warehouse, ALL, 0.7)
    assert high["customer_id"].tolist() == ["c8", "c7", "c6", "c5"]
    assert set(queries.customers_at_risk(warehouse, Filters(countries=("DE",)))["country_code"]) == {"DE"}


def test_live_window_counts_back_from_the_newest_streamed_hour(
    warehouses: dict[str, Path], tmp_path: Path
) -> None:
    path = tmp_path / "wh.duckdb"
    path.write_bytes(warehouses["full"].read_bytes())
    wh = DuckDBWarehouse(path)
    with wh.connect() as con:
        write_stream(con, hours=(8, 9, 10, 11, 12))
    three = queries.live_by_country(wh, from_inputs(hours=3))
    hours = sorted({t.hour for t in three["event_hour"]})
    assert hours == [10, 11, 12]
    platforms = queries.live_by_platform(wh, from_inputs(hours=3, platforms=["ios"]))
    assert set(platforms["platform"]) == {"ios"} and platforms["events"].tolist() == [5, 5, 5]
    assert len(queries.live_rows(wh, from_inputs(hours=24))) == 7 * 3


def test_filter_choices_come_from_the_views(warehouse: DuckDBWarehouse) -> None:
    assert pages.choices(pages.HISTORY, warehouse) == {
        "country": ["DE", "FR"],
        "channel": ["app", "store", "web"],
    }
    assert pages.choices(pages.LIVE, warehouse) == {"country": ["DE", "FR"], "platform": ["android", "ios"]}
    first, last = queries.revenue_date_bounds(warehouse)
    assert (first, last) == (pd.Timestamp("2024-01-10"), pd.Timestamp("2024-01-19"))


def test_every_page_renders_every_panel(warehouse: DuckDBWarehouse) -> None:
    for page in pages.PAGES.values():
        kpis, shown = pages.render(page, warehouse, ALL)
        assert {s.panel.id: s.problem for s in shown if not s.ok} == {}, page.key
        assert all((s.figure is not None) == (s.panel.draw is not None) for s in shown)
        assert len(kpis) >= 4 and all(k.value is not None for k in kpis), page.key
        for k in kpis:
            if k.drill:
                spec, rows, problem = pages.drill(k.drill, warehouse, ALL)
                assert problem is None and rows is not None and not rows.empty, k.label


def test_pre_ml_warehouse_shows_why_predictions_are_empty(warehouses: dict[str, Path]) -> None:
    hints = {"bi_churn_top_at_risk": "No churn scores yet: soon."}
    _, shown = pages.render(pages.PREDICTIONS, DuckDBWarehouse(warehouses["pre_ml"]), ALL, hints)
    problems = {s.panel.id: s.problem for s in shown}
    assert problems["at-risk"] == "No churn scores yet: soon."
    assert (problems["forecast"] or "").startswith("No forecasts yet")


def test_a_missing_view_or_warehouse_is_an_empty_state_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.duckdb"
    wh = LocalWarehouse(DuckDBWarehouse(path), path)
    with pytest.raises(NoWarehouse):
        wh.query("SELECT 1")
    _, shown = pages.render(pages.HISTORY, wh, ALL)
    assert all(f"there is no warehouse at {path} yet" in (s.problem or "") for s in shown)
    assert not path.exists(), "the dashboards must not create the warehouse"
    empty = tmp_path / "empty.duckdb"
    with DuckDBWarehouse(empty).connect() as con:
        con.execute("CREATE SCHEMA bi")
    _, shown = pages.render(pages.LIVE, DuckDBWarehouse(empty), ALL)
    assert all((s.problem or "").startswith("Not built yet: the view bi.bi_app_activity_live") for s in shown)


def test_display_rows_formats_times_dates_and_money(warehouse: DuckDBWarehouse) -> None:
    rows = pages.display_rows(queries.forecast_rows(warehouse, ALL).head(1))
    assert rows[0]["ts_hour"].endswith(" UTC") and isinstance(rows[0]["abs_error"], float)
    revenue = pages.display_rows(queries.revenue_rows(warehouse, ALL).head(1))
    assert revenue[0]["order_date"] == "2024-01-19"


def test_vertex_and_bigquery_ml_side_by_side(warehouse: DuckDBWarehouse) -> None:
    churn = queries.churn_comparison(warehouse, ALL)
    # the newest day both models scored (2024-01-21 has BQML alone), customers scored by both only
    assert churn["as_of_date"].dt.date.unique().tolist() == [dt.date(2024, 1, 14)]
    assert sorted(churn["customer_id"]) == [f"c{i}" for i in range(1, 8)]
    summary = queries.churn_comparison_summary(warehouse, ALL).iloc[0]
    assert summary["customers"] == 7
    assert summary["mean_abs_difference"] == pytest.approx(churn["score_difference"].abs().mean())
    rows = queries.churn_comparison_rows(warehouse, ALL)
    assert rows["score_difference"].abs().is_monotonic_decreasing
    forecast = queries.forecast_comparison_by_hour(warehouse, Filters(countries=("DE",)))
    assert forecast["actual"].tolist()[:2] == [6.0, 7.0] and pd.isna(forecast["actual"].iloc[2])
    assert forecast["vertex_n"].sum() == 2 and forecast["bqml_mae"].iloc[0] == pytest.approx(abs(6.0 - 6))
    kpis = {k.label: k for k in pages.render(pages.PREDICTIONS, warehouse, ALL)[0]}
    assert kpis["Forecast MAE, Vertex / BQML"].value == "1.25 / 0.50"
    assert kpis["Churn score gap, Vertex vs BQML"].note.endswith("7 customers, 2024-01-14")
