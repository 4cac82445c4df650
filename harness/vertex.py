"""The local Vertex AI as Rillflow uses it: what the stack adds to the bare ``localgcp`` service.

``localgcp.services.aiplatform`` must not import the application, so its PredictionService serves
``Endpoint.predict`` through a pluggable predictor and has none built in. :func:`start_vertex`
(called by ``LocalStack.start``) plugs in :class:`ModelFilesPredictor`: the project's prediction
code (``ml.serving.predictors``, what the serving container runs on a Vertex endpoint) over the
deployed version's artifact, read as plain files from the local Storage's bucket folder
(``rillflow.resources``' model files, as ``AIP_STORAGE_URI`` is resolved in the container). It also
creates the ML artifacts bucket, which terraform declares in the cloud (terraform/storage.tf):
the registry uploads models there and custom jobs write their ``AIP_MODEL_DIR`` there.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from typing import Any

from rillflow.settings import Settings


class ModelFilesPredictor:
    """``(ModelRecord, instances, parameters) -> predictions`` with one loaded model per version.

    A model version's artifact never changes, so a loaded predictor is kept per
    (model, version, artifact URI); a bad request raises ``BadRequest`` (a ``ValueError``), which
    the service answers with INVALID_ARGUMENT, as the serving container answers 400.
    """

    def __init__(self) -> None:
        self._loaded: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()

    def _predictor(self, model: Any) -> Any:
        key = (model.model, model.version_id, model.artifact_uri)
        with self._lock:
            if key not in self._loaded:
                from ml.serving.predictors import load_predictor
                from ml.serving.server import resolve_storage_uri

                self._loaded[key] = load_predictor(resolve_storage_uri(model.artifact_uri))
            return self._loaded[key]

    def __call__(self, model: Any, instances: list[Any], parameters: Any) -> list[Any]:
        return list(self._predictor(model).predict(instances))


def ml_bucket(settings: Settings) -> None:
    """Create the ML artifacts bucket (idempotent; the storage client finds the local service)."""
    from google.api_core import exceptions
    from google.cloud import storage  # type: ignore[attr-defined]

    with contextlib.suppress(exceptions.Conflict):
        storage.Client(project=settings.project).create_bucket(settings.ml_bucket)


def start_vertex(services: Mapping[str, Any], settings: Settings) -> None:
    """Prepare the started local Vertex AI for Rillflow: the artifacts bucket and the predictor."""
    if "aiplatform" not in services:
        return
    ml_bucket(settings)
    services["aiplatform"].predictor = ModelFilesPredictor()
