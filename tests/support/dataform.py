"""The Dataform project the Dataform and dashboard tests compile, and the vars every compile uses."""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dataform"
#: One set of vars for every test, so the compile cache is hit after the first compile.
#: The check window spans all test history (the default, 3 days, is what keeps daily checks flat).
TEST_VARS = {"run_date": "2024-01-31", "freshness_max_age_days": "60", "check_window_days": "36500"}
