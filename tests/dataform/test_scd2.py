"""dim_startup (SCD type 2) from one full load and weekly deltas matches a hand-computed history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.dataform.lake import startup, ts, write_startups


def test_dim_startup_history(lake: Path, run_dataform: Callable[..., Any], query: Callable[..., Any]) -> None:
    write_startups(
        lake,
        "full",
        "2024-01-01",
        [startup("s1", "2023-12-31T00:00:00Z"), startup("s2", "2023-12-20T08:00:00Z", sector="saas")],
    )
    write_startups(
        lake,
        "delta",
        "2024-01-05",
        [
            startup("s1", "2024-01-04T12:00:00Z", total_funding_usd=2000000, last_round="series_a"),
            startup("s2", "2023-12-20T08:00:00Z", sector="saas"),  # re-sent unchanged: a duplicate
            startup("s3", "2024-01-04T00:00:00Z", employees="many"),  # rejected, not dropped
        ],
    )
    write_startups(
        lake,
        "delta",
        "2024-01-12",
        [
            startup(
                "s1",
                "2024-01-11T09:30:00Z",
                total_funding_usd=2000000,
                last_round="series_a",
                status="acquired",
            ),
            startup("s2", "2024-01-11T10:00:00Z", sector="saas"),  # touched, nothing tracked changed
        ],
    )
    run_dataform(
        actions=[
            "dim_startup",
            "stg_startups__snapshots_rejects",
            "assert_stg_startups__snapshots__reconciliation",
        ],
        include_dependencies=True,
    )
    rows = query(
        "SELECT startup_id, startup_status, total_funding_usd, valid_from, valid_to, is_current "
        "FROM marts.dim_startup ORDER BY startup_id, valid_from"
    )
    history = [
        (
            r["startup_id"],
            r["startup_status"],
            float(r["total_funding_usd"]),
            r["valid_from"],
            r["valid_to"],
            r["is_current"],
        )
        for r in rows
    ]
    assert history == [
        ("s1", "active", 1e6, ts("2023-12-31T00:00:00"), ts("2024-01-04T12:00:00"), False),
        ("s1", "active", 2e6, ts("2024-01-04T12:00:00"), ts("2024-01-11T09:30:00"), False),
        ("s1", "acquired", 2e6, ts("2024-01-11T09:30:00"), None, True),
        ("s2", "active", 1e6, ts("2023-12-20T08:00:00"), None, True),
    ]
    rejects = query(
        "SELECT startup_id, loaded_date, reject_reason FROM staging.stg_startups__snapshots_rejects"
    )
    assert rejects == [
        {
            "startup_id": "s3",
            "loaded_date": dt.date(2024, 1, 5),
            "reject_reason": "employees must be an integer >= 0",
        }
    ]
    founded = query("SELECT DISTINCT founded_date FROM marts.dim_startup")
    assert founded == [{"founded_date": dt.date(2020, 1, 15)}]
