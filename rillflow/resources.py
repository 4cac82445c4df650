"""The one place that picks implementations by environment (``RILLFLOW_ENV=local|cloud``).

Business code asks for a resource (the warehouse, the model registry, the streaming sink's
warehouse kind, a served model's files) and never branches on the environment itself: the same
function, step or command then runs unchanged in both places, and what differs is listed here,
side by side (Dagster's resources by environment are the model). Google APIs that have a local
service speaking the real API (Storage, Firestore, Pub/Sub, Workflows, Vertex AI) are not here at all: their
official clients are used in both places and find the local services through the emulator
variables.

Implementations are named by import path (``module:function``) and imported on first use, never
here: a deployable that needs one resource (the streaming image needs only the warehouse kind)
then carries only its own modules (``rillflow.deploy.sources`` follows imports).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rillflow.settings import Settings, get_settings

if TYPE_CHECKING:
    from rillflow.warehouse import Warehouse


def load(ref: str) -> Any:
    """The object ``module:name`` names."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Resources:
    env: str
    #: ``f(settings) -> Warehouse``: BigQuery in the cloud; locally DuckDB stands in (the parity
    #: tier runs the BigQuery path against a BigQuery-API emulator)
    warehouse_factory: str
    #: ``f(settings) -> ModelRegistry``: Vertex AI Model Registry in both places (locally the SDK
    #: talks to the local Vertex AI API the stack starts: ``rillflow.vertex_client``); it stays a
    #: resource so that the ML code asks for it here, like the warehouse
    registry_factory: str
    #: ``f(settings, bucket, prefix) -> Path``, a folder with the files of ``gs://bucket/prefix``
    #: for the prediction server: Vertex AI hands the container a bucket URI, so the cloud
    #: downloads; locally a bucket already is a folder of plain files (the Storage service's mirror)
    model_files_factory: str
    #: the ``--warehouse`` the streaming job merges its hourly aggregates into by default
    streaming_warehouse: str
    #: days can be replayed on a virtual clock (locally); in the cloud they pass for real
    replays_days: bool
    #: what to tell a person when a Google API endpoint does not answer (``{error}``: what failed)
    unavailable_hint: str
    #: ``f(settings) -> (warehouse, hints)`` for ``rillflow dashboards serve``: the warehouse the app
    #: reads (locally read only, saying so while no warehouse file exists yet) and the texts its empty
    #: panels show (locally: how many days of history each model needs, and the command that makes them)
    dashboards_factory: str

    def warehouse(self, settings: Settings) -> Warehouse:
        return load(self.warehouse_factory)(settings)  # type: ignore[no-any-return]

    def model_registry(self, settings: Settings) -> Any:
        """An ``ml.registry.ModelRegistry`` (not imported here, even for typing: see above)."""
        return load(self.registry_factory)(settings)

    def model_files(self, settings: Settings, bucket: str, prefix: str) -> Path:
        return Path(load(self.model_files_factory)(settings, bucket, prefix))

    def dashboards(self, settings: Settings) -> tuple[Any, dict[str, str] | None]:
        return load(self.dashboards_factory)(settings)  # type: ignore[no-any-return]


RESOURCES: dict[str, Resources] = {
    "local": Resources(
        env="local",
        warehouse_factory="rillflow.warehouse:duckdb_warehouse",
        registry_factory="ml.registry:vertex_registry",
        model_files_factory="ml.serving.server:mirrored_model_files",
        streaming_warehouse="duckdb",
        replays_days=True,
        unavailable_hint=(
            "the local stack is not running: start it with `rillflow local up` "
            "(or run `rillflow run`, which starts one)"
        ),
        dashboards_factory="rillflow.commands.dashboards:local_dashboards",
    ),
    "cloud": Resources(
        env="cloud",
        warehouse_factory="rillflow.warehouse:bigquery_warehouse",
        registry_factory="ml.registry:vertex_registry",
        model_files_factory="ml.serving.server:download_model_files",
        streaming_warehouse="bigquery",
        replays_days=False,
        unavailable_hint="a Google Cloud service is unavailable ({error}): retry in a moment",
        dashboards_factory="rillflow.commands.dashboards:cloud_dashboards",
    ),
}


def resources(settings: Settings | None = None) -> Resources:
    """The resource set of ``settings.env`` (the current settings when None)."""
    s = settings or get_settings()
    try:
        return RESOURCES[s.env]
    except KeyError:
        raise ValueError(f"RILLFLOW_ENV={s.env!r} is not one of {sorted(RESOURCES)}") from None
