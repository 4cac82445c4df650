"""Local Firestore write throughput through the official client, against raw SQLite inserts."""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from bench import Result, benchmark
from localgcp.services.base import ServiceContext
from localgcp.services.firestore import FirestoreService
from localgcp.services.firestore.store import _SCHEMA

DOCS = 20_000
BATCH = 500


class _CountingSink:
    """Counts events (their construction is part of every write's cost)."""

    def __init__(self) -> None:
        self.count = 0

    def emit(self, event: object) -> None:
        self.count += 1


def _order(i: int, rng: random.Random) -> dict:
    return {
        "order_id": f"o{i:06d}",
        "customer_id": f"c{rng.randrange(2000):05d}",
        "country": rng.choice(["DE", "FR", "US", "BR", "IN"]),
        "amount": round(rng.uniform(1, 500), 2),
        "quantity": rng.randrange(1, 9),
        "status": "paid",
        "created_at": firestore.SERVER_TIMESTAMP,
    }


def _raw_sqlite_rate(rows: list[tuple], directory: Path) -> float:
    conn = sqlite3.connect(str(directory / "raw.sqlite3"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(_SCHEMA)
    t0 = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?)", rows[start : start + BATCH]
        )
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    conn.close()
    return len(rows) / elapsed


@benchmark("firestore.batch_write")
def batch_write() -> Result:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        sink = _CountingSink()
        ctx = ServiceContext("127.0.0.1", 0, directory / "firestore", "bench", sink)
        service = FirestoreService(ctx, location="europe-west1")
        service.start()
        saved = os.environ.get("FIRESTORE_EMULATOR_HOST")
        os.environ["FIRESTORE_EMULATOR_HOST"] = service.address
        try:
            db = firestore.Client(project="bench", credentials=AnonymousCredentials())
            col = db.collection("sales")
            payloads = [_order(i, rng) for i in range(DOCS)]
            t0 = time.perf_counter()
            for start in range(0, DOCS, BATCH):
                batch = db.batch()
                for i in range(start, min(start + BATCH, DOCS)):
                    batch.set(col.document(f"o{i:06d}"), payloads[i])
                batch.commit()
            elapsed = time.perf_counter() - t0
            written = col.count().get()[0][0].value
        finally:
            service.stop()
            if saved is None:
                os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
            else:
                os.environ["FIRESTORE_EMULATOR_HOST"] = saved
        if written != DOCS or sink.count != 2 * DOCS:
            raise AssertionError(
                f"wrote {written} docs and {sink.count} events, expected {DOCS} and {2 * DOCS}"
            )
        src = sqlite3.connect(str(directory / "firestore" / "firestore.sqlite3"))
        rows = src.execute(
            "SELECT name, parent, collection_id, doc, create_us, update_us FROM documents ORDER BY name"
        ).fetchall()
        src.close()
        reference = _raw_sqlite_rate(rows, directory)
    rate = DOCS / elapsed
    return Result(
        value=rate,
        unit="docs/s",
        reference=reference,
        note=f"{DOCS} docs, {BATCH}/commit via google-cloud-firestore (+2 CloudEvents each); ref = raw SQLite inserts",
        details={"client wall time": (elapsed, "s"), "events emitted": (float(sink.count), "events")},
    )
