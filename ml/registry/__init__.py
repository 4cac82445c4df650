"""Model registry: the Vertex AI Model Registry, in the cloud and locally (the local Vertex AI API
of ``localgcp``, which ``rillflow.vertex_client`` points the SDK at)."""

from __future__ import annotations

from ml.registry.base import CHAMPION, Lineage, ModelRegistry, ModelVersion, table_fingerprint
from rillflow.settings import Settings, get_settings

__all__ = ["CHAMPION", "Lineage", "ModelRegistry", "ModelVersion", "get_registry", "table_fingerprint"]


def vertex_registry(settings: Settings) -> ModelRegistry:
    from ml.registry.vertex import VertexModelRegistry

    return VertexModelRegistry(settings.project, settings.region)


def get_registry(settings: Settings | None = None) -> ModelRegistry:
    """The environment's registry (``rillflow.resources``): Vertex AI Model Registry everywhere."""
    from rillflow.resources import resources

    s = settings or get_settings()
    return resources(s).model_registry(s)
