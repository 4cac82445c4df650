"""The columns each page reads exist in the ``bi`` views as dataform/definitions/bi/*.sqlx define
them, and every statement the dashboards send parses as BigQuery SQL and as DuckDB SQL.

The statements are recorded while every page, drill-down and filter runs against the test
warehouse; each is parsed with sqlglot, and its column references (less its own aliases) are
checked against the select list of the SQLX view it reads.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from dashboards import pages, queries
from dashboards.filters import Filters
from rillflow.warehouse import DuckDBWarehouse

SQLX_DIR = Path(__file__).resolve().parents[2] / "dataform" / "definitions" / "bi"


def _strip_config(text: str) -> str:
    start = text.index("config {")
    depth, i = 0, start + len("config ")
    while True:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
        if depth == 0:
            return text[i:]


def sqlx_columns() -> dict[str, set[str]]:
    """Each bi view's output columns, from its SQLX select list."""
    found = {}
    for path in sorted(SQLX_DIR.glob("*.sqlx")):
        body = _strip_config(path.read_text())
        body = re.sub(
            r"\$\{ref\(([^)]*)\)\}", lambda m: "t_" + re.sub(r"\W+", "_", m.group(1)).strip("_"), body
        )
        tree = sqlglot.parse_one(body, read="bigquery")
        assert isinstance(tree, exp.Query), path
        found[path.stem] = set(tree.named_selects)
    return found


class Recording:
    def __init__(self, warehouse: DuckDBWarehouse) -> None:
        self.warehouse = warehouse
        self.statements: list[str] = []

    def query(self, sql: str, params: Any = None) -> pa.Table:
        assert params is None, "the dashboards send no bound parameters (BigQueryWarehouse takes none)"
        self.statements.append(sql)
        return self.warehouse.query(sql)


def _statements(warehouse: DuckDBWarehouse) -> list[str]:
    rec = Recording(warehouse)
    filters = Filters(countries=("DE",), platforms=("ios",), channels=("web",))
    for page in pages.PAGES.values():
        pages.render(page, rec, Filters())
        pages.render(page, rec, filters)
        pages.choices(page, rec)
    for key in pages.DRILLS:
        pages.drill(key, rec, filters)
    queries.revenue_date_bounds(rec)
    return rec.statements


def test_every_bi_view_is_read_by_a_page() -> None:
    read = {p.view for page in pages.PAGES.values() for p in page.panels}
    assert read == set(sqlx_columns())


def test_columns_read_exist_in_the_sqlx_views(warehouse: DuckDBWarehouse) -> None:
    views = sqlx_columns()
    statements = _statements(warehouse)
    assert len(statements) > 30
    checked: set[str] = set()
    for sql in statements:
        tree = sqlglot.parse_one(sql, read="bigquery")
        sqlglot.parse_one(sql, read="duckdb")
        tables = {t.name for t in tree.find_all(exp.Table)}
        assert tables and all(t.db == "bi" for t in tree.find_all(exp.Table)), sql
        assert tables <= set(views), sql
        aliases = {a.alias for a in tree.find_all(exp.Alias)}
        columns = {c.name for c in tree.find_all(exp.Column)} - aliases
        known = set().union(*(views[t] for t in tables))
        assert columns <= known, f"{sorted(columns - known)} not in {sorted(tables)}: {sql}"
        checked |= tables
    assert checked == set(views)


def test_a_renamed_sqlx_column_is_caught() -> None:
    """The check above can fail: a statement reading a column the view does not select is refused."""
    views = sqlx_columns()
    tree = sqlglot.parse_one("SELECT order_day FROM bi.bi_daily_revenue", read="bigquery")
    columns = {c.name for c in tree.find_all(exp.Column)}
    assert not columns <= views["bi_daily_revenue"]
    assert {"order_date", "revenue_usd", "country_code", "channel"} <= views["bi_daily_revenue"]
    assert {"event_hour", "country_code", "platform", "event_count"} <= views["bi_app_activity_live"]
