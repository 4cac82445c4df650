"""What `rillflow demo` prints after the replay: warehouse row counts and the ML outcome."""

from __future__ import annotations

import json

import pyarrow as pa

from rillflow.commands.demo import ml_summary, warehouse_summary
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


def test_ml_summary_reports_the_latest_job_and_skip_reasons() -> None:
    jobs = get_settings().home / "pipelines" / "jobs"
    assert ml_summary() == ["no ML pipeline has run yet"]
    jobs.mkdir(parents=True, exist_ok=True)
    old = {
        "pipeline": "daily_ml",
        "parameter_values": {"as_of_date": "2026-01-01"},
        "state": "X",
        "outputs": {},
    }
    new = {
        "pipeline": "daily_ml",
        "parameter_values": {"as_of_date": "2026-01-02"},
        "state": "PIPELINE_STATE_SUCCEEDED",
        "outputs": {"churn": {"skipped": True, "reason": "no labelled rows yet"}, "forecast": {"rows": 48}},
    }
    (jobs / "20260101000000-a.json").write_text(json.dumps(old))
    (jobs / "20260102000000-b.json").write_text(json.dumps(new))
    lines = ml_summary()
    assert lines[0] == "latest pipeline daily_ml for 2026-01-02: PIPELINE_STATE_SUCCEEDED"
    assert "  churn: skipped — no labelled rows yet" in lines
    assert any(line.startswith("  forecast:") and '"rows": 48' in line for line in lines)
