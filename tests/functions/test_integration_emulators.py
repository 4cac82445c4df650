"""The Google-backed adapters against the local emulators (in-process).

Same logic as the fake-backed tests, but through the official clients: batched writes,
transactions, range queries, create-only documents; generation preconditions and copies; and
the Firestore emulator's own ``written`` events delivered to ``on_sale_written``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from google.api_core.exceptions import Conflict
from rillflow_functions import clients, gcp_adapters, ledger, sales_jobs
from rillflow_functions.ports import GenerationMismatch, ObjectNotFound

from localgcp.events import CollectingSink
from localgcp.services.base import ServiceContext
from localgcp.services.firestore import FirestoreService
from localgcp.services.storage import StorageService
from tests.functions import samples
from tests.functions.deliver import post_event
from tests.functions.fakes import FakeGenerators

DAY = date(2026, 1, 5)
PROJECT = "rillflow-local"


@pytest.fixture
def firestore_emulator(tmp_path: Path) -> Iterator[tuple[Any, CollectingSink]]:
    sink = CollectingSink()
    service = FirestoreService(ServiceContext("127.0.0.1", 0, tmp_path, PROJECT, sink))
    service.start()
    os.environ["FIRESTORE_EMULATOR_HOST"] = service.address
    os.environ["GOOGLE_CLOUD_PROJECT"] = PROJECT
    try:
        yield gcp_adapters.make_document_store(), sink
    finally:
        service.stop()
        clients.reset()


def test_firestore_adapter_semantics(firestore_emulator) -> None:  # type: ignore[no-untyped-def]
    docs, _ = firestore_emulator
    assert docs.create("daily_runs/2026-01-05", {"status": "claimed"}) is True
    assert docs.create("daily_runs/2026-01-05", {"status": "other"}) is False
    assert docs.get("daily_runs/2026-01-05") == {"status": "claimed"}
    assert docs.update("daily_runs/none", {"x": 1}) is False
    result = sales_jobs.generate_sales(docs, FakeGenerators(lambda d: samples.orders_for(d, 7)), DAY)
    assert result["orders"] == 7
    docs.set("sales/late", samples.order(date(2026, 1, 6), 1, order_id="late"))
    ids = [i for i, _ in docs.query_range("sales", "order_ts", *sales_jobs.day_bounds(DAY))]
    assert ids == [f"SO-20260105-{n:05d}" for n in range(1, 8)]
    c, _ = ledger.contribution_of(samples.order(DAY, 1), "SO-20260105-00001", "2026-01-05")
    when = samples.order(DAY, 1)["order_ts"]
    for expected in ("applied", "duplicate"):
        outcome = docs.run_transaction(lambda v: ledger.record_order_version(v, "SO-20260105-00001", c, when))
        assert outcome.action == expected
    assert docs.get("sales_ledger/2026-01-05")["order_count"] == 1


def test_emulator_events_drive_on_sale_written(firestore_emulator, app_client) -> None:  # type: ignore[no-untyped-def]
    docs, sink = firestore_emulator
    clients.install(documents=docs)
    orders = samples.orders_for(DAY, 4) + [samples.order(DAY, 5, currency="XXX")]
    sales_jobs.generate_sales(docs, FakeGenerators(lambda d: orders), DAY)
    client = app_client("on_sale_written")
    delivered = 0
    while delivered < len(sink.events):  # the flag write emits one more event; drain until quiet
        event = sink.events[delivered]
        delivered += 1
        if event["type"] != "google.cloud.firestore.document.v1.written":
            continue
        if "sales/" not in str(event.get("subject", "")) or "sales_ledger" in str(event.get("subject", "")):
            continue
        attrs = {k: str(v) for k, v in event.get_attributes().items()}
        for _ in range(2):
            assert post_event(client, attrs, event.data).status_code == 200
    day = docs.get("sales_ledger/2026-01-05")
    assert (day["order_count"], day["invalid_count"]) == (4, 1)
    assert docs.get("sales/SO-20260105-00005")["validation"]["ok"] is False


@pytest.fixture
def lake_emulator(tmp_path: Path) -> Iterator[Any]:
    service = StorageService(ServiceContext("127.0.0.1", 0, tmp_path, PROJECT, CollectingSink()))
    try:
        service.start()
    except Exception as exc:  # the fake-gcs-server binary may be unavailable on this machine
        pytest.skip(f"storage emulator did not start: {exc}")
    os.environ["STORAGE_EMULATOR_HOST"] = f"http://{service.address}"
    try:
        lake = gcp_adapters.make_lake_store()
        with contextlib.suppress(Conflict):  # a retried create whose first attempt went through
            lake.client.create_bucket(lake.bucket)
        yield lake
    finally:
        service.stop()
        clients.reset()


def test_storage_adapter_generations_and_copies(lake_emulator) -> None:  # type: ignore[no-untyped-def]
    lake = lake_emulator
    first = lake.write(
        "bronze/x/dt=2026-01-05/part-00000.jsonl", b"a\n", "application/x-ndjson", 0, {"rows": "1"}
    )
    with pytest.raises(GenerationMismatch):
        lake.write(first.name, b"b\n", "application/x-ndjson", 0)
    second = lake.write(first.name, b"b\n", "application/x-ndjson", first.generation)
    assert lake.stat(first.name).generation == second.generation
    assert lake.read(first.name) == b"b\n"
    assert lake.stat(first.name).metadata == {}
    copied = lake.copy(first.name, second.generation, "quarantine/" + first.name)
    assert lake.read(copied.name) == b"b\n"
    with pytest.raises(ObjectNotFound):
        lake.read("bronze/missing.jsonl")


def test_storage_adapter_lists_and_deletes_by_generation(lake_emulator) -> None:  # type: ignore[no-untyped-def]
    lake = lake_emulator
    a = lake.write("lake/app_events/dt=2026-01-05/part-a.parquet", b"a", "application/octet-stream", 0)
    b = lake.write("lake/app_events/dt=2026-01-05/part-b.parquet", b"b", "application/octet-stream", 0)
    lake.write("lake/app_events/dt=2026-01-06/part-c.parquet", b"c", "application/octet-stream", 0)
    listed = lake.list("lake/app_events/dt=2026-01-05/")
    assert [(o.name, o.generation) for o in listed] == [(a.name, a.generation), (b.name, b.generation)]
    newer = lake.write(b.name, b"b2", "application/octet-stream", b.generation)
    assert lake.delete(b.name, if_generation_match=b.generation) is False  # replaced meanwhile: kept
    assert lake.delete(b.name, if_generation_match=newer.generation) is True
    assert lake.delete(a.name, if_generation_match=a.generation) is True
    assert lake.delete(a.name, if_generation_match=a.generation) is False  # gone already
    assert lake.list("lake/app_events/dt=2026-01-05/") == []
