"""Firestore contention on the sales ledger: K workers, each with its own ``firestore.Client``,
apply order events through the ``on_sale_written`` code path (``sale_events.handle_sale_written``
→ ``FirestoreDocuments.run_transaction`` → ``ledger.record_order_version``) at once.

Every order has several versions (quantity and status changes, a move to another day, an invalid
version, some a final delete); the events are shuffled, so versions arrive out of order, and each
is delivered twice. All orders fall on two days, so every transaction contends for the same two
ledger documents. Checked: the ledger equals the totals computed directly from each order's final
version (exact, micro-USD), and every order's ledger entry is at its final version (no lost update).
"""

from __future__ import annotations

import os
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore
from google.events.cloud.firestore import DocumentEventData
from google.events.cloud.firestore_v1.types import Document
from rillflow_functions import firestore_values as fv
from rillflow_functions import ledger
from rillflow_functions.gcp_adapters import FirestoreDocuments
from rillflow_functions.sale_events import handle_sale_written

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.firestore import FirestoreService
from tests.drills.figures import Figures, volume
from tests.functions import samples

pytestmark = pytest.mark.drills

PROJECT = "rillflow-drills"
DAY = date(2026, 3, 2)
NEXT_DAY = DAY + timedelta(days=1)
DELIVERIES = 2
#: an event that fails (e.g. a transaction aborted too often) is delivered again, as Eventarc does
EVENT_ATTEMPTS = 5
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class SaleEvent:
    order_id: str
    version: datetime
    order: dict[str, Any] | None  # None: the document was deleted
    previous: dict[str, Any] | None


def _versions(n: int) -> list[dict[str, Any] | None]:
    """An order's successive states: edited, completed or refunded, moved, invalid, deleted."""
    base = samples.order(DAY, n, order_id=f"SO-DRILL-{n:05d}", status="cancelled")
    items = [dict(item) for item in base["items"]]
    items[0]["quantity"] = 1 + n % 4
    edited = {**base, "items": items, "status": "completed"}
    out: list[dict[str, Any] | None] = [base, edited]
    if n % 3 == 0:
        out.append({**edited, "currency": "XXX"})  # an invalid version in the middle
    if n % 2 == 0:
        out.append({**edited, "order_ts": base["order_ts"] + timedelta(days=1), "fx_rate_to_usd": 1.25})
    else:
        out.append({**edited, "status": "refunded"} if n % 4 == 1 else edited)
    if n % 7 == 0:
        out.append({**edited, "channel": "carrier-pigeon"})  # ends invalid: counted, no revenue
    elif n % 5 == 0:
        out.append(None)
    return out


def _events(orders: int) -> tuple[list[SaleEvent], dict[str, SaleEvent]]:
    events: list[SaleEvent] = []
    final: dict[str, SaleEvent] = {}
    for n in range(1, orders + 1):
        previous = None
        for v, order in enumerate(_versions(n)):
            # distinct update times per version, interleaved across orders
            event = SaleEvent(f"SO-DRILL-{n:05d}", T0 + timedelta(seconds=v, microseconds=n), order, previous)
            events.append(event)
            final[event.order_id] = event
            previous = order
    return events, final


def _document(order_id: str, data: dict[str, Any] | None, at: datetime) -> Document:
    if data is None:
        return Document()
    name = f"projects/{PROJECT}/databases/(default)/documents/sales/{order_id}"
    return fv.encode_document(name, data, T0, at)


def _event_data(event: SaleEvent) -> DocumentEventData:
    return DocumentEventData(
        value=_document(event.order_id, event.order, event.version),
        old_value=_document(event.order_id, event.previous, event.version - timedelta(seconds=1)),
    )


def _expected_ledger(final: dict[str, SaleEvent]) -> dict[str, dict[str, int]]:
    totals: dict[str, dict[str, int]] = {}
    for event in final.values():
        contribution, _ = ledger.contribution_of(
            event.order, event.order_id, event.version.date().isoformat()
        )
        if contribution.day is None:
            continue
        day = totals.setdefault(contribution.day, dict.fromkeys(contribution.counters(), 0))
        for name, value in contribution.counters().items():
            day[name] += value
    return totals


@pytest.fixture
def firestore_service(tmp_path: Path) -> Iterator[FirestoreService]:
    ctx = ServiceContext("127.0.0.1", 0, tmp_path / "firestore", PROJECT, NullSink())
    service = FirestoreService(ctx, location="europe-west1")
    service.start()
    os.environ["FIRESTORE_EMULATOR_HOST"] = service.address
    try:
        yield service
    finally:
        service.stop()


def _client() -> firestore.Client:
    return firestore.Client(project=PROJECT, credentials=AnonymousCredentials())


def test_ledger_under_concurrent_out_of_order_duplicate_events(
    firestore_service: FirestoreService, drill: Figures
) -> None:
    workers = volume(4, 8)
    orders = volume(40, 400)
    events, final = _events(orders)
    deliveries = [e for e in events for _ in range(DELIVERIES)]
    random.Random(18).shuffle(deliveries)
    drill.drill = "firestore: ledger transactions, contended"
    drill.volume = f"{workers} workers, {orders} orders, {len(events):,} versions ×{DELIVERIES}"

    work: queue.Queue[SaleEvent] = queue.Queue()
    for event in deliveries:
        work.put(event)
    lock = threading.Lock()
    actions: Counter[str] = Counter()
    retries = [0]
    failed: list[BaseException] = []

    def worker() -> None:
        documents = FirestoreDocuments(_client())
        while True:
            try:
                event = work.get_nowait()
            except queue.Empty:
                return
            for attempt in range(1, EVENT_ATTEMPTS + 1):
                try:
                    result = handle_sale_written(documents, _event_data(event), event.version)
                except Exception as exc:  # redelivered, as a failed function invocation would be
                    with lock:
                        retries[0] += 1
                        if attempt == EVENT_ATTEMPTS:
                            failed.append(exc)
                    continue
                with lock:
                    actions[result["action"]] += 1
                break

    threads = [threading.Thread(target=worker, name=f"drill-ledger-{w}") for w in range(workers)]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.perf_counter() - t0

    reader = _client()
    expected = _expected_ledger(final)
    days = {snap.id: snap.to_dict() or {} for snap in reader.collection(ledger.LEDGER).stream()}
    entries = {snap.id: snap.to_dict() or {} for snap in reader.collection(ledger.ENTRIES).stream()}
    counters = ledger.Contribution(day=None).counters().keys()
    zero = dict.fromkeys(counters, 0)
    diffs = {
        (day, name): int(days.get(day, zero).get(name, 0)) - expected.get(day, zero)[name]
        for day in set(days) | set(expected)
        for name in counters
    }
    stale_entries = [
        oid for oid, event in final.items() if oid not in entries or entries[oid]["version"] != event.version
    ]
    revenue_usd_off = [
        day
        for day, doc in days.items()
        if doc["revenue_usd"] != round(doc["revenue_usd_micros"] / 1_000_000, 6)
    ]
    counted = [n for (_, name), n in diffs.items() if name in ("order_count", "invalid_count")]
    drill.duration_s = round(duration, 2)
    drill.lost = -sum(n for n in counted if n < 0) + len(stale_entries)
    drill.doubled = sum(n for n in counted if n > 0)
    drill.duplicates_delivered = len(deliveries) - len(events)
    drill.crashes = len(failed)
    drill.throughput = round(len(deliveries) / duration, 1)
    drill.throughput_unit = "events/s"
    drill.details = {
        "checked": True,
        "outcomes": dict(sorted(actions.items())),
        "transaction retries (event redelivered)": retries[0],
        "ledger counters off": {f"{d}.{n}": v for (d, n), v in sorted(diffs.items()) if v},
        "entries not at final version": len(stale_entries),
        "expected": expected,
    }

    assert not failed, failed[:3]
    assert sum(actions.values()) == len(deliveries)
    assert not stale_entries, f"{len(stale_entries)} orders' entries are not at their final version"
    assert not any(diffs.values()), drill.details["ledger counters off"]
    assert not revenue_usd_off
