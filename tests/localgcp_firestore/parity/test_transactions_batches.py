"""Transactions (read-write, read-only, retries) and batches (atomic WriteBatch, BatchWrite)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.support.google_emulators import Backend

pytestmark = pytest.mark.parity


def test_read_write_transaction(db: firestore.Client) -> None:
    account = db.collection("accounts").document("a")
    account.set({"balance": 10})
    query = db.collection("accounts").where(filter=FieldFilter("balance", ">", 0))

    @firestore.transactional
    def move(transaction: Any, amount: int) -> int:
        balance = account.get(transaction=transaction).get("balance")
        found = [s.id for s in transaction.get(query)]
        assert found == ["a"]
        transaction.update(account, {"balance": balance - amount})
        transaction.set(db.collection("accounts").document("b"), {"balance": amount})
        return int(balance - amount)

    assert move(db.transaction(), 4) == 6
    assert {s.id: s.get("balance") for s in db.collection("accounts").stream()} == {"a": 6, "b": 4}


def test_failed_transaction_writes_nothing(db: firestore.Client) -> None:
    ref = db.collection("t").document("a")
    ref.set({"v": 1})

    @firestore.transactional
    def broken(transaction: Any) -> None:
        transaction.get(ref)
        transaction.set(ref, {"v": 2})
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        broken(db.transaction())
    assert ref.get().get("v") == 1

    @firestore.transactional
    def create_existing(transaction: Any) -> None:
        transaction.create(ref, {"v": 3})

    with pytest.raises(exceptions.Conflict):
        create_existing(db.transaction())
    assert ref.get().get("v") == 1


def test_concurrent_increments_serialize(db: firestore.Client, backend: Backend) -> None:
    """Disagreement: under this contention Google's emulator loses increments (6 to 8 of 9 seen)
    and holds locks for seconds (17 s for this test); the service documents serializable
    isolation for transactions, so every increment must land — localgcp gives 9 every time."""
    if backend.is_google:
        pytest.skip("Google's emulator loses contended transactional increments (see docstring)")
    counter = db.collection("counters").document("c")
    counter.set({"n": 0})

    def worker() -> None:
        client = firestore.Client(project=db.project, credentials=db._credentials)

        @firestore.transactional
        def increment(transaction: Any) -> None:
            ref = client.collection("counters").document("c")
            n = ref.get(transaction=transaction).get("n")
            transaction.update(ref, {"n": n + 1})

        for _ in range(3):
            increment(client.transaction())
        client.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.get().get("n") == 9


def test_read_only_transaction(db: firestore.Client) -> None:
    ref = db.collection("ro").document("a")
    ref.set({"v": 1})

    @firestore.transactional
    def read(transaction: Any) -> Any:
        return ref.get(transaction=transaction).get("v")

    assert read(db.transaction(read_only=True)) == 1

    # the client refuses writes in a read-only transaction itself; the service refuses them too
    api, metadata, database = db._firestore_api, db._rpc_metadata, db._database_string
    begun = api.begin_transaction(
        request={"database": database, "options": {"read_only": {}}}, metadata=metadata
    )
    write = {"update": {"name": ref._document_path, "fields": {}}}
    with pytest.raises(exceptions.InvalidArgument, match="read-only"):
        api.commit(
            request={"database": database, "transaction": begun.transaction, "writes": [write]},
            metadata=metadata,
        )
    assert ref.get().get("v") == 1


def test_write_batch_is_atomic(db: firestore.Client) -> None:
    col = db.collection("batch")
    col.document("exists").set({"v": 0})
    batch = db.batch()
    batch.set(col.document("a"), {"v": 1})
    batch.create(col.document("exists"), {"v": 2})  # fails: the whole batch fails
    with pytest.raises(exceptions.Conflict):
        batch.commit()
    assert [s.id for s in col.stream()] == ["exists"]
    batch = db.batch()
    batch.set(col.document("a"), {"v": 1})
    batch.update(col.document("exists"), {"v": 3})
    batch.delete(col.document("nothing"))
    results = batch.commit()
    assert len(results) == 3
    assert {s.id: s.get("v") for s in col.stream()} == {"a": 1, "exists": 3}


def test_batch_write_applies_writes_independently(db: firestore.Client) -> None:
    col = db.collection("bulk")
    col.document("exists").set({"v": 0})
    batch = db.batch()
    batch.set(col.document("a"), {"v": 1})
    batch.create(col.document("exists"), {"v": 2})
    batch.update(col.document("missing"), {"v": 3})
    batch.set(col.document("b"), {"v": 4})
    request = {"database": db._database_string, "writes": batch._write_pbs}
    response = db._firestore_api.batch_write(request=request, metadata=db._rpc_metadata)
    assert [s.code for s in response.status] == [0, 6, 5, 0]  # OK, ALREADY_EXISTS, NOT_FOUND, OK
    assert {s.id: s.get("v") for s in col.stream()} == {"a": 1, "b": 4, "exists": 0}


def test_bulk_writer(db: firestore.Client) -> None:
    col = db.collection("bulk-writer")
    writer = db.bulk_writer()
    for i in range(25):
        writer.set(col.document(f"d{i:02d}"), {"i": i})
    writer.close()
    assert col.count().get()[0][0].value == 25
