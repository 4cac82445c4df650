"""The views the dashboards read exist, with the columns they read, in the real Dataform output."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dashboards.views import HISTORY_VIEWS, PREDICTION_VIEWS, VIEWS, load_views, read_view
from rillflow.warehouse import DuckDBWarehouse
from tests.support.dataform import PROJECT_DIR


def test_every_bi_sqlx_view_has_a_dashboard_panel() -> None:
    sqlx = {p.stem for p in (PROJECT_DIR / "definitions" / "bi").glob("*.sqlx")}
    assert set(VIEWS) == sqlx
    assert set(HISTORY_VIEWS) | set(PREDICTION_VIEWS) == sqlx
    assert not set(HISTORY_VIEWS) & set(PREDICTION_VIEWS)


def test_columns_read_exist_in_the_real_views(warehouses: dict[str, Path]) -> None:
    """Guards against drift between dashboards/views.py and dataform/definitions/bi/*.sqlx."""
    with DuckDBWarehouse(warehouses["full"]).connect(read_only=True) as con:
        for name, spec in VIEWS.items():
            rows = con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'bi' AND table_name = ?",
                [name],
            ).fetchall()
            real = {r[0] for r in rows}
            assert real, f"bi.{name} is not in the warehouse the real Dataform run built"
            assert set(spec.columns) <= real, f"bi.{name} lacks {set(spec.columns) - real}"


def test_all_views_have_rows_in_the_full_warehouse(warehouses: dict[str, Path]) -> None:
    data = load_views(warehouses["full"])
    assert {name: v.problem for name, v in data.items() if not v.ok} == {}


def test_prediction_views_are_empty_before_the_models_ran(warehouses: dict[str, Path]) -> None:
    data = load_views(warehouses["pre_ml"])
    assert all(data[name].ok for name in HISTORY_VIEWS)
    for name in PREDICTION_VIEWS:
        problem = data[name].problem or ""
        assert problem == VIEWS[name].empty_hint
        assert "first trains after ~" in problem and "bi_" not in problem


def test_missing_warehouse_is_reported_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "absent.duckdb"
    data = load_views(path)
    assert all(f"there is no warehouse at {path} yet" in (v.problem or "") for v in data.values())
    assert not path.exists()


def test_missing_view_missing_column_and_broken_view(tmp_path: Path) -> None:
    path = tmp_path / "wh.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA bi")
        con.execute("CREATE TABLE bi.bi_daily_revenue (order_date DATE, channel VARCHAR)")
        con.execute("CREATE TABLE bi.upstream (sector VARCHAR, startups BIGINT)")
        con.execute(
            "CREATE VIEW bi.bi_startup_funding_by_sector AS SELECT sector, startups, 1 AS active_startups, "
            "1.0 AS total_funding_usd FROM bi.upstream"
        )
        con.execute("DROP TABLE bi.upstream")
    data = load_views(path)
    assert "no view bi.bi_funnel_daily" in (data["bi_funnel_daily"].problem or "")
    assert "has no column(s) country_code, orders" in (data["bi_daily_revenue"].problem or "")
    assert "could not be read" in (data["bi_startup_funding_by_sector"].problem or "")


def test_empty_hints_speak_to_a_user() -> None:
    """An empty panel says what is missing and what fills it, never in view or table names."""
    for spec in VIEWS.values():
        assert spec.empty_hint[0].isupper() and "bi." not in spec.empty_hint and "ml." not in spec.empty_hint
    churn = VIEWS["bi_churn_score_distribution"].empty_hint
    assert churn == (
        "No churn scores yet: the churn model first trains after ~69 days of history "
        "— run `rillflow backfill --days 70` (minutes) or `make demo`."
    )
    assert "forecaster first trains after ~37 days" in VIEWS["bi_app_forecast_vs_actual"].empty_hint


@pytest.mark.parametrize("name", ["bi_daily_revenue", "bi_app_forecast_vs_actual"])
def test_read_view_selects_only_the_columns_read(warehouses: dict[str, Path], name: str) -> None:
    with DuckDBWarehouse(warehouses["full"]).connect(read_only=True) as con:
        view = read_view(con, VIEWS[name])
    assert view.frame is not None and list(view.frame.columns) == list(VIEWS[name].columns)
