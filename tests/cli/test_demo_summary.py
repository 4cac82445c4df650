"""What `rillflow demo` prints after the replay: warehouse row counts and the ML outcome."""

from __future__ import annotations

import pyarrow as pa

from rillflow.commands.demo import warehouse_summary
from rillflow.settings import get_settings
from rillflow.warehouse import DuckDBWarehouse


def test_warehouse_summary_counts_rows_per_table() -> None:
    settings = get_settings()
    assert warehouse_summary(settings) == []
    wh = DuckDBWarehouse(settings.warehouse_path)
    wh.write("warehouse", "fct_sales", pa.table({"x": [1, 2, 3]}))
    wh.write("ml", "ml_churn_scores", pa.table({"x": pa.array([], pa.int64())}))
    assert warehouse_summary(settings) == [("ml.ml_churn_scores", 0), ("warehouse.fct_sales", 3)]
    wh.write("dataform_assertions", "a_passes", pa.table({"x": pa.array([], pa.int64())}))
    wh.write("dataform_assertions", "b_fails", pa.table({"x": [7]}))
    assert warehouse_summary(settings)[-1] == ("dataform_assertions (2 assertions, 1 failing)", 1)
    assert len(warehouse_summary(settings)) == 3
