"""Local Cloud Storage (fake-gcs-server + Eventarc-shaped object events)."""

from localgcp.services.storage.provider import StorageService

__all__ = ["StorageService"]
