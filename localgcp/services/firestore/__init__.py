"""Local Firestore emulator: ``google.firestore.v1.Firestore`` over gRPC, backed by SQLite.

``FIRESTORE_EMULATOR_HOST=<address>`` makes ``google-cloud-firestore`` talk to it unchanged;
every document change is also emitted as Eventarc-shaped CloudEvents to the context's sink.
"""

from localgcp.services.firestore.service import FirestoreService

__all__ = ["FirestoreService"]
