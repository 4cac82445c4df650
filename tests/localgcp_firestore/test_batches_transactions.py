"""Batched writes, BulkWriter (BatchWrite) and transactions through google-cloud-firestore."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore

from tests.support.firestore import Emulator


def test_batch_is_atomic(db: firestore.Client) -> None:
    col = db.collection("orders")
    col.document("exists").set({"v": 0})
    batch = db.batch()
    batch.set(col.document("n1"), {"v": 1})
    batch.update(col.document("exists"), {"v": firestore.Increment(1)})
    results = batch.commit()
    assert len(results) == 2 and col.document("exists").get().to_dict() == {"v": 1}
    failing = db.batch()
    failing.set(col.document("n2"), {"v": 2})
    failing.update(col.document("missing"), {"v": 3})  # precondition exists fails
    with pytest.raises(exceptions.NotFound):
        failing.commit()
    assert not col.document("n2").get().exists  # nothing of the failed batch was written


def test_bulk_writer_uses_batch_write(db: firestore.Client) -> None:
    col = db.collection("bulk")
    failures: list[str] = []
    writer = db.bulk_writer()

    def record_failure(error: Any, _writer: Any) -> bool:
        failures.append(error.operation.reference.id)
        return False  # do not retry

    writer.on_write_error(record_failure)
    for i in range(120):
        writer.create(col.document(f"d{i:03d}"), {"i": i})
    writer.update(col.document("absent"), {"x": 1})  # fails alone, the rest still lands
    writer.close()
    assert failures == ["absent"]
    assert col.count().get()[0][0].value == 120
    assert col.document("d119").get().to_dict() == {"i": 119}


def test_transaction_reads_and_writes(db: firestore.Client) -> None:
    a, b = db.collection("acct").document("a"), db.collection("acct").document("b")
    a.set({"bal": 100})
    b.set({"bal": 0})

    @firestore.transactional
    def move(txn: firestore.Transaction, amount: int) -> None:
        snapshots = {s.id: s for s in txn.get_all([a, b])}
        txn.update(a, {"bal": snapshots["a"].get("bal") - amount})
        txn.update(b, {"bal": snapshots["b"].get("bal") + amount})

    move(db.transaction(), 30)
    assert (a.get().get("bal"), b.get().get("bal")) == (70, 30)


def test_transaction_query_read(db: firestore.Client) -> None:
    col = db.collection("stock")
    col.document("x").set({"qty": 2})
    col.document("y").set({"qty": 5})

    @firestore.transactional
    def restock(txn: firestore.Transaction) -> int:
        low = list(txn.get(col.where(filter=firestore.FieldFilter("qty", "<", 3))))
        for snap in low:
            txn.update(snap.reference, {"qty": 10})
        return len(low)

    assert restock(db.transaction()) == 1
    assert col.document("x").get().get("qty") == 10


def test_concurrent_transactions_increment_exactly(emulator: Emulator) -> None:
    counter_path = ("counters", "shared")
    emulator.client().collection(counter_path[0]).document(counter_path[1]).set({"n": 0})
    threads_n, per_thread = 4, 15
    errors: list[BaseException] = []

    def work() -> None:
        db = emulator.client()
        ref = db.collection(counter_path[0]).document(counter_path[1])

        @firestore.transactional
        def bump(txn: firestore.Transaction) -> None:
            current = ref.get(transaction=txn).get("n")
            txn.update(ref, {"n": current + 1})

        try:
            for _ in range(per_thread):
                bump(db.transaction())
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    final = emulator.client().collection(counter_path[0]).document(counter_path[1]).get().get("n")
    assert final == threads_n * per_thread


def test_transaction_aborts_when_read_document_changes(db: firestore.Client) -> None:
    ref = db.collection("race").document("r")
    ref.set({"v": 1})
    attempts: list[int] = []

    @firestore.transactional
    def update_after_interference(txn: firestore.Transaction) -> None:
        value = ref.get(transaction=txn).get("v")
        attempts.append(value)
        if len(attempts) == 1:
            ref.set({"v": 100})  # a non-transactional write sneaks in after the read
        txn.update(ref, {"v": value + 1})

    update_after_interference(db.transaction())
    assert attempts == [1, 100]  # first commit ABORTED, the client retried with fresh data
    assert ref.get().get("v") == 101


def test_rollback_discards_writes(db: firestore.Client) -> None:
    ref = db.collection("rb").document("r")
    ref.set({"v": 1})

    @firestore.transactional
    def fail(txn: firestore.Transaction) -> None:
        ref.get(transaction=txn)
        txn.update(ref, {"v": 2})
        raise RuntimeError("application error")

    with pytest.raises(RuntimeError):
        fail(db.transaction())
    assert ref.get().get("v") == 1


def test_read_only_transaction_cannot_write(db: firestore.Client) -> None:
    ref = db.collection("ro").document("r")
    ref.set({"v": 1})
    txn = db.transaction(read_only=True)

    @firestore.transactional
    def read(t: firestore.Transaction) -> int:
        return int(ref.get(transaction=t).get("v"))

    assert read(txn) == 1


def test_opposite_order_transfers_do_not_deadlock(emulator: Emulator) -> None:
    """Two documents locked in opposite orders by concurrent transactions: wound-wait resolves it."""
    setup = emulator.client()
    setup.collection("acct").document("a").set({"bal": 1000})
    setup.collection("acct").document("b").set({"bal": 1000})
    errors: list[BaseException] = []

    def work(first: str, second: str) -> None:
        db = emulator.client()
        src, dst = db.collection("acct").document(first), db.collection("acct").document(second)

        @firestore.transactional
        def transfer(txn: firestore.Transaction) -> None:
            s = src.get(transaction=txn).get("bal")
            d = dst.get(transaction=txn).get("bal")
            txn.update(src, {"bal": s - 1})
            txn.update(dst, {"bal": d + 1})

        try:
            for _ in range(10):
                transfer(db.transaction(max_attempts=20))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=pair) for pair in [("a", "b"), ("b", "a")] * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    balances = [setup.collection("acct").document(i).get().get("bal") for i in ("a", "b")]
    assert sum(balances) == 2000 and balances == [1000, 1000]
