"""The fixtures that decide a test's tier (``tests/conftest.py`` marks their users; ``tests/README.md``).

A test using one of ``SERVICE_FIXTURES`` (directly or through another fixture) is marked
``service``, one using ``BROWSER_FIXTURES`` ``browser``; ``make test-fast`` leaves both out.
A new fixture that starts a service (in-process on a port, a subprocess, Google's emulators, the
whole stack) belongs here; a test that starts one without a fixture marks itself
(``pytestmark = pytest.mark.service``).
"""

from __future__ import annotations

SERVICE_FIXTURES = frozenset(
    {
        # the whole local stack (harness/testing.py) and the replay built on it (tests/e2e)
        "localgcp_stack",
        "replayed_once",
        # one localgcp service in-process: Storage, Firestore, Pub/Sub (tests/localgcp_*, streaming)
        "gcs",
        "emulator",
        "firestore_emulator",
        "lake_emulator",
        # the local Vertex AI (tests/localgcp_aiplatform)
        "vertex",
        # the parity tiers: localgcp beside Google's emulators, and bqemulator
        "backend",
        "localgcp_firestore",
        "localgcp_pubsub",
        "google_firestore_emulator",
        "google_pubsub_emulator",
        "bigquery_emulator",
        # the dashboard app in a subprocess (tests/dashboards/running.py)
        "app",
        "apps",
    }
)

BROWSER_FIXTURES = frozenset({"browser"})
