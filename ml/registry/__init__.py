"""Model registry: one interface, a local (SQLite) and a Vertex AI implementation chosen by settings."""

from __future__ import annotations

from ml.registry.base import CHAMPION, Lineage, ModelRegistry, ModelVersion, table_fingerprint
from rillflow.settings import Settings, get_settings

__all__ = ["CHAMPION", "Lineage", "ModelRegistry", "ModelVersion", "get_registry", "table_fingerprint"]


def get_registry(settings: Settings | None = None) -> ModelRegistry:
    """Vertex Model Registry when ``RILLFLOW_ENV=cloud``, the local registry otherwise."""
    s = settings or get_settings()
    if s.env == "cloud":
        from ml.registry.vertex import VertexModelRegistry

        return VertexModelRegistry(s.project, s.region)
    from ml.registry.local import LocalModelRegistry

    return LocalModelRegistry(s.home)
