"""Model registry: one interface, a local (SQLite) and a Vertex AI implementation (``rillflow.resources`` picks)."""

from __future__ import annotations

from ml.registry.base import CHAMPION, Lineage, ModelRegistry, ModelVersion, table_fingerprint
from rillflow.settings import Settings, get_settings

__all__ = ["CHAMPION", "Lineage", "ModelRegistry", "ModelVersion", "get_registry", "table_fingerprint"]


def local_registry(settings: Settings) -> ModelRegistry:
    from ml.registry.local import LocalModelRegistry

    return LocalModelRegistry(settings.home)


def vertex_registry(settings: Settings) -> ModelRegistry:
    from ml.registry.vertex import VertexModelRegistry

    return VertexModelRegistry(settings.project, settings.region)


def get_registry(settings: Settings | None = None) -> ModelRegistry:
    """The environment's registry (``rillflow.resources``): Vertex AI in the cloud, local here."""
    from rillflow.resources import resources

    s = settings or get_settings()
    return resources(s).model_registry(s)
