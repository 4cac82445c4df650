"""Names the BigQuery parity tier shares (``tests/parity_bigquery``): the emulator's project and
location, the Dataform project and vars it compiles, and a dataset listing."""

from __future__ import annotations

from pathlib import Path

from google.cloud import bigquery

from localgcp.services.bigquery import EMULATOR_RETRY
from rillflow.settings import Settings

#: the project the emulator answers for (the local settings' project, as the Dataform compile uses)
PROJECT = Settings().project
LOCATION = "EU"
DATAFORM_DIR = Path(__file__).resolve().parents[2] / "dataform"
#: Dataform vars of every compile here (one compile per session): run_date just after the test
#: lake's last day, and every check looking at all of its (small) history
DATAFORM_VARS = {"run_date": "2024-01-10", "freshness_max_age_days": "60", "check_window_days": "36500"}


def table_names(client: bigquery.Client, dataset: str) -> list[str]:
    return sorted(t.table_id for t in client.list_tables(f"{PROJECT}.{dataset}", retry=EMULATOR_RETRY))
