"""The local Firestore as the Firestore tests drive it: the running service and a client of it.

``tests/localgcp_firestore/conftest.py`` starts one per test (the ``emulator`` and ``db`` fixtures).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from localgcp.events import CollectingSink
from localgcp.services.base import ServiceContext
from localgcp.services.firestore import FirestoreService

PROJECT = "rillflow-test"


@dataclass
class Emulator:
    service: FirestoreService
    sink: CollectingSink
    ctx: ServiceContext

    def client(self) -> firestore.Client:
        os.environ["FIRESTORE_EMULATOR_HOST"] = self.service.address
        return firestore.Client(project=PROJECT, credentials=AnonymousCredentials())
