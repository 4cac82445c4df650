"""The one place that picks implementations by environment (``RILLFLOW_ENV=local|cloud``).

Business code asks for a resource (the warehouse, the model registry, the streaming sink's
warehouse kind) and never branches on the environment itself: the same function, step or command
then runs unchanged in both places, and what differs is listed here, side by side (Dagster's
resources by environment are the model). Google APIs that have a local service speaking the real
API (Storage, Firestore, Pub/Sub, Workflows) are not here at all: their official clients are used
in both places and find the local services through the emulator variables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rillflow.settings import Settings, get_settings

if TYPE_CHECKING:
    from ml.registry.base import ModelRegistry
    from rillflow.warehouse import Warehouse


@dataclass(frozen=True)
class Resources:
    env: str
    #: BigQuery in the cloud; locally DuckDB stands in (the parity tier runs the BigQuery path
    #: against a BigQuery-API emulator)
    warehouse: Callable[[Settings], Warehouse]
    #: Vertex AI Model Registry in the cloud; a local registry with the same interface here
    model_registry: Callable[[Settings], ModelRegistry]
    #: the ``--warehouse`` the streaming job merges its hourly aggregates into by default
    streaming_warehouse: str
    #: days can be replayed on a virtual clock (locally); in the cloud they pass for real
    replays_days: bool
    #: a directory holding the files of ``gs://bucket/prefix`` for the prediction server: Vertex
    #: AI hands the container a bucket URI, so the cloud downloads; locally the bucket already is
    #: a folder of plain files (the Storage service's mirror)
    model_files: Callable[[Settings, str, str], Path]
    #: what to tell a person when a Google API endpoint does not answer (``{error}``: what failed)
    unavailable_hint: str


def _duckdb(settings: Settings) -> Warehouse:
    from rillflow.warehouse import DuckDBWarehouse

    return DuckDBWarehouse(settings.warehouse_path)


def _bigquery(settings: Settings) -> Warehouse:
    from rillflow.warehouse import BigQueryWarehouse

    return BigQueryWarehouse(settings.project, settings.region)


def _mirrored_files(settings: Settings, bucket: str, prefix: str) -> Path:
    return settings.bucket_dir(bucket) / prefix


def _downloaded_files(settings: Settings, bucket: str, prefix: str) -> Path:
    from ml.serving.server import download_model_files

    return download_model_files(bucket, prefix)


def _local_registry(settings: Settings) -> ModelRegistry:
    from ml.registry.local import LocalModelRegistry

    return LocalModelRegistry(settings.home)


def _vertex_registry(settings: Settings) -> ModelRegistry:
    from ml.registry.vertex import VertexModelRegistry

    return VertexModelRegistry(settings.project, settings.region)


RESOURCES: dict[str, Resources] = {
    "local": Resources(
        env="local",
        warehouse=_duckdb,
        model_registry=_local_registry,
        streaming_warehouse="duckdb",
        model_files=_mirrored_files,
        replays_days=True,
        unavailable_hint=(
            "the local stack is not running: start it with `rillflow local up` "
            "(or run `rillflow run`, which starts one)"
        ),
    ),
    "cloud": Resources(
        env="cloud",
        warehouse=_bigquery,
        model_registry=_vertex_registry,
        streaming_warehouse="bigquery",
        model_files=_downloaded_files,
        replays_days=False,
        unavailable_hint="a Google Cloud service is unavailable ({error}): retry in a moment",
    ),
}


def resources(settings: Settings | None = None) -> Resources:
    """The resource set of ``settings.env`` (the current settings when None)."""
    s = settings or get_settings()
    try:
        return RESOURCES[s.env]
    except KeyError:
        raise ValueError(f"RILLFLOW_ENV={s.env!r} is not one of {sorted(RESOURCES)}") from None
