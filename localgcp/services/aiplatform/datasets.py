"""google.cloud.aiplatform.v1.DatasetService: Create/Get/List/Delete of managed datasets.

Only what Rillflow's training uses: a tabular or time-series dataset is a pointer to its
source (``metadata.inputConfig.bigquerySource.uri = "bq://project.dataset.table"`` or a list
of ``gcsSource.uri``); nothing is imported or copied, and the source is not checked to exist
(the BigQuery emulator is a separate service). Other schemas are stored as given.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.cloud.aiplatform_v1 import types as t
from google.protobuf import empty_pb2, json_format

from localgcp.services.aiplatform.rpc import (
    TIME_AND_NAME_ORDER,
    Operations,
    check_parent,
    handlers,
    invalid_argument,
    matches,
    now_pb,
    ordered,
    page,
    resource,
)
from localgcp.services.aiplatform.store import Store

DatasetPb: Any = t.Dataset.pb()
SOURCED_SCHEMAS = ("/tabular_1.0.0.yaml", "/time_series_1.0.0.yaml")
ORDER_KEYS = TIME_AND_NAME_ORDER


def check_source(dataset: Any) -> None:
    """A tabular/time-series dataset must name a ``bq://`` table or ``gs://`` files."""
    if not dataset.metadata_schema_uri.endswith(SOURCED_SCHEMAS):
        return
    meta = json_format.MessageToDict(dataset.metadata) if dataset.HasField("metadata") else {}
    config = meta.get("inputConfig", {}) if isinstance(meta, dict) else {}
    bq_uri = config.get("bigquerySource", {}).get("uri", "")
    gcs_uris = config.get("gcsSource", {}).get("uri", [])
    if bq_uri:
        parts = bq_uri.removeprefix("bq://").split(".")
        if not bq_uri.startswith("bq://") or len(parts) != 3 or not all(parts):
            raise invalid_argument(f"bigquerySource.uri must be bq://project.dataset.table, not {bq_uri!r}.")
    elif not gcs_uris or not all(str(u).startswith("gs://") for u in gcs_uris):
        raise invalid_argument(
            "A tabular dataset needs metadata.inputConfig with a bigquerySource or gcsSource."
        )


class DatasetService:
    def __init__(self, store: Store, ops: Operations) -> None:
        self.store = store
        self.ops = ops

    def create_dataset(self, request: Any, context: grpc.ServicerContext) -> Any:
        parent = check_parent(request.parent)
        if not request.dataset.display_name:
            raise invalid_argument("Dataset.display_name is required.")
        if not request.dataset.metadata_schema_uri:
            raise invalid_argument("Dataset.metadata_schema_uri is required.")
        check_source(request.dataset)
        dataset = DatasetPb()
        dataset.CopyFrom(request.dataset)
        dataset.name = f"{parent}/datasets/{self.store.next_id('dataset')}"
        dataset.create_time.CopyFrom(now_pb())
        dataset.update_time.CopyFrom(dataset.create_time)
        self.store.put("dataset", dataset.name, dataset, parent=parent)
        return self.ops.done(dataset.name, dataset, t.CreateDatasetOperationMetadata.pb()())

    def dataset(self, name: str) -> Any:
        resource(name, "datasets")
        return self.store.require("dataset", name, DatasetPb, "Dataset")

    def get_dataset(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.dataset(request.name)

    def list_datasets(self, request: Any, context: grpc.ServicerContext) -> Any:
        found = [
            d
            for d in self.store.all("dataset", DatasetPb, parent=check_parent(request.parent))
            if matches(
                request.filter,
                {"display_name": d.display_name, "metadata_schema_uri": d.metadata_schema_uri},
                d.labels,
            )
        ]
        chosen, token = page(
            ordered(found, request.order_by, ORDER_KEYS), request.page_size, request.page_token
        )
        return t.ListDatasetsResponse.pb()(datasets=chosen, next_page_token=token)

    def delete_dataset(self, request: Any, context: grpc.ServicerContext) -> Any:
        dataset = self.dataset(request.name)
        self.store.delete("dataset", dataset.name)
        return self.ops.done(dataset.name, empty_pb2.Empty(), t.DeleteOperationMetadata.pb()())

    def handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        return handlers(
            {
                "CreateDataset": (self.create_dataset, t.CreateDatasetRequest),
                "GetDataset": (self.get_dataset, t.GetDatasetRequest),
                "ListDatasets": (self.list_datasets, t.ListDatasetsRequest),
                "DeleteDataset": (self.delete_dataset, t.DeleteDatasetRequest),
            },
            self.store.lock,
        )
