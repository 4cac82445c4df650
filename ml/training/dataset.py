"""The Vertex AI dataset over the forecaster's BigQuery series table, created once and reused.

A time-series dataset is a pointer to ``bq://project.ml.ml_app_activity_series`` (nothing is
copied); the training records its resource name in the model's lineage and labels
(``ml.registry.vertex``). Locally the table lives in DuckDB and the dataset in the local Vertex AI
API, which, like Vertex, does not read the source.
"""

from __future__ import annotations

from typing import Any

from ml.forecasting.snapshot import SERIES_TABLE

DATASET_NAME = "app-activity-series"


def bq_source(project: str, table: str = SERIES_TABLE) -> str:
    """``bq://project.dataset.table`` of a warehouse table named ``dataset.table``."""
    return f"bq://{project}.{table}"


def _source_of(dataset: Any) -> str:
    meta = dataset.gca_resource.metadata or {}
    return str(meta.get("inputConfig", {}).get("bigquerySource", {}).get("uri", ""))


def ensure_series_dataset(project: str, location: str, table: str = SERIES_TABLE) -> str:
    """The resource name of the time-series dataset over ``table`` (created when absent)."""
    from google.cloud import aiplatform

    from rillflow.vertex_client import init_vertex

    init_vertex(project, location)
    source = bq_source(project, table)
    for dataset in aiplatform.TimeSeriesDataset.list(
        filter=f'display_name="{DATASET_NAME}"', order_by="create_time"
    ):
        if _source_of(dataset) == source:
            return str(dataset.resource_name)
    created = aiplatform.TimeSeriesDataset.create(
        display_name=DATASET_NAME, bq_source=source, labels={"rillflow_table": table.replace(".", "-")}
    )
    return str(created.resource_name)
