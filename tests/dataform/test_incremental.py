"""Incremental correctness: day-by-day loads equal one full refresh; a re-run changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench.dataform_synth import write_day, write_sales
from tests.dataform.lake import sale
from tests.dataform.lake import write_sales as write_sales_rows

MARTS = (
    "marts.fct_sales",
    "marts.fct_clickstream_sessions",
    "marts.fct_app_events_hourly",
    "marts.dim_customer",
    "marts.dim_product",
    "marts.dim_date",
    "marts.dim_country",
    "marts.dim_startup",
)
FIRST = dt.date(2024, 1, 4)  # a Thursday: the full startups load, then a delta on Friday
DAYS = 5


def snapshot(query: Callable[[str], list[dict[str, Any]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(tuple(r.values()) for r in query(f"SELECT * FROM {t}")) for t in MARTS}


def test_day_by_day_equals_full_refresh_and_reruns_change_nothing(
    lake: Path, run_dataform: Callable[..., Any], query: Callable[[str], list[dict[str, Any]]]
) -> None:
    for i in range(DAYS):
        write_day(lake, FIRST + dt.timedelta(days=i), FIRST, seed=11, scale=0.05)
        result = run_dataform(tags=["daily"])
        if i > 3:  # past the lookback window (counted from the newest loaded day): recent days only
            assert (
                result.action("fct_sales").rows < query("SELECT COUNT(*) AS n FROM marts.fct_sales")[0]["n"]
            )
    incremental = snapshot(query)
    assert all(incremental[t] for t in MARTS), "every mart should have rows"
    assert len({r[2] for r in incremental["marts.fct_sales"]}) == DAYS  # order dates

    run_dataform(tags=["daily"])  # the same day again
    assert snapshot(query) == incremental

    run_dataform(tags=["daily"], full_refresh=True)
    assert snapshot(query) == incremental


def test_re_exported_day_replaces_its_rows(
    lake: Path, run_dataform: Callable[..., Any], query: Callable[[str], list[dict[str, Any]]]
) -> None:
    write_sales_rows(lake, "2024-01-08", [sale("o1", 1, "2024-01-08T10:00:00", "c1", quantity=1)])
    write_sales_rows(lake, "2024-01-09", [sale("o2", 1, "2024-01-09T10:00:00", "c2", quantity=1)])
    run_dataform(actions=["fct_sales"], include_dependencies=True)
    # the export of 2024-01-08 is redone: same file name, the line's quantity corrected
    write_sales_rows(lake, "2024-01-08", [sale("o1", 1, "2024-01-08T10:00:00", "c1", quantity=3)])
    run_dataform(actions=["fct_sales"])
    assert query("SELECT order_id, quantity FROM marts.fct_sales ORDER BY 1") == [
        {"order_id": "o1", "quantity": 3},
        {"order_id": "o2", "quantity": 1},
    ]


def test_incremental_reads_only_recent_partitions(lake: Path, run_dataform: Callable[..., Any]) -> None:
    days = [FIRST + dt.timedelta(days=i) for i in range(6)]
    rng = np.random.default_rng(1)
    lines = [write_sales(lake, day, 5, rng) for day in days]
    run_dataform(actions=["fct_sales"], include_dependencies=True)
    # break an old partition: an incremental run must not even open it (pruned by the DECLAREd bound)
    # (not the first file: DuckDB binds the schema from the first file of the glob)
    (lake / "bronze" / "sales" / f"dt={days[1]}" / "part-00000.parquet").write_bytes(b"not parquet")
    result = run_dataform(actions=["fct_sales"])
    assert result.action("fct_sales").rows == sum(lines[-3:])  # the last 3 export days (lookback 2)
