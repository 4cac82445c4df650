"""A local Vertex AI service per test (``tests/support/vertex.py``), driven only through google-cloud-aiplatform."""

from __future__ import annotations

from tests.support.vertex import vertex, vertex_platform

__all__ = ["vertex", "vertex_platform"]
