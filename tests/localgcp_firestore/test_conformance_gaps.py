"""The Firestore gaps that the official client's system suite found (issue 16), one test each.

Every test here failed against the emulator before its fix; all go through google-cloud-firestore
(its public API, or its own gRPC transport where the behaviour lives below the API).
"""

from __future__ import annotations

import datetime as dt
import math
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.types import firestore as fs_types
from google.cloud.firestore_v1.vector import Vector

from localgcp.services.base import ServiceContext
from localgcp.services.firestore import FirestoreService
from tests.localgcp_firestore.watching import Snapshots, data_of
from tests.support.firestore import Emulator

# --- 1. Listen -------------------------------------------------------------------------------


def test_document_listener_fires_on_create_update_delete(db: firestore.Client) -> None:
    ref = db.collection("watched").document("ada")
    seen = Snapshots()
    watch = ref.on_snapshot(seen)
    try:
        seen.until(lambda docs, _: docs == [])  # the first snapshot: the document does not exist
        ref.set({"first": "Ada"})
        seen.until(lambda docs, _: data_of(docs) == {"ada": {"first": "Ada"}})
        ref.update({"born": 1815})
        seen.until(lambda docs, _: data_of(docs) == {"ada": {"first": "Ada", "born": 1815}})
        ref.delete()
        seen.until(lambda docs, changes: docs == [] and [c.type.name for c in changes] == ["REMOVED"])
    finally:
        watch.unsubscribe()


def test_collection_and_query_listeners_report_changes(db: firestore.Client) -> None:
    people = db.collection("people")
    people.document("a").set({"age": 30})
    everyone, adults = Snapshots(), Snapshots()
    watches = [
        people.on_snapshot(everyone),
        people.where(filter=FieldFilter("age", ">=", 18)).order_by("age").on_snapshot(adults),
    ]
    try:
        everyone.until(lambda docs, _: data_of(docs) == {"a": {"age": 30}})
        adults.until(lambda docs, _: [d.id for d in docs] == ["a"])
        people.document("b").set({"age": 20})
        _, changes = adults.until(lambda docs, _: [d.id for d in docs] == ["b", "a"])
        assert [(c.type.name, c.document.id) for c in changes] == [("ADDED", "b")]
        people.document("a").update({"age": 12})  # leaves the query, stays in the collection
        _, changes = adults.until(lambda docs, _: [d.id for d in docs] == ["b"])
        assert [(c.type.name, c.document.id) for c in changes] == [("REMOVED", "a")]
        _, changes = everyone.until(lambda docs, _: data_of(docs).get("a") == {"age": 12})
        assert [(c.type.name, c.document.id) for c in changes] == [("MODIFIED", "a")]
        people.document("b").delete()
        everyone.until(lambda docs, _: [d.id for d in docs] == ["a"])
        adults.until(lambda docs, _: docs == [])
    finally:
        for watch in watches:
            watch.unsubscribe()


def _listen(db: firestore.Client, target: dict) -> Iterator[Any]:
    """The client's own Listen transport, one add_target request, responses as they come."""
    requests: queue.Queue = queue.Queue()
    requests.put(fs_types.ListenRequest(database=db._database_string, add_target=target))

    def send() -> Iterator[Any]:
        while (request := requests.get()) is not None:
            yield request

    stream = db._firestore_api._transport.listen(send(), metadata=db._rpc_metadata)
    try:
        yield from stream
    finally:
        requests.put(None)
        stream.cancel()


def _until_consistent(responses: Iterator[Any]) -> list[Any]:
    """Responses up to the global NO_CHANGE with a read_time (a consistent snapshot)."""
    out = []
    for response in responses:
        out.append(response)
        change = response.target_change
        if response._pb.HasField("target_change") and not change.target_ids and change.read_time:
            return out
    raise AssertionError("the stream ended before a consistent snapshot")


def test_listen_protocol_resume_token_sends_only_the_difference(db: firestore.Client) -> None:
    col = db.collection("resumable")
    col.document("keep").set({"n": 1})
    col.document("drop").set({"n": 2})
    col.document("edit").set({"n": 3})
    query = {
        "parent": f"{db._database_string}/documents",
        "structured_query": {"from_": [{"collection_id": "resumable"}]},
    }
    first = _until_consistent(_listen(db, {"query": query, "target_id": 7}))
    kinds = [r._pb.WhichOneof("response_type") for r in first]
    assert kinds == ["target_change"] + ["document_change"] * 3 + ["target_change"] * 2
    assert [r.target_change.target_change_type.name for r in (first[0], first[4])] == ["ADD", "CURRENT"]
    token = first[-1].target_change.resume_token
    assert token

    col.document("drop").delete()
    col.document("edit").update({"n": 30})
    col.document("new").set({"n": 4})
    resumed = _until_consistent(_listen(db, {"query": query, "target_id": 7, "resume_token": token}))
    changed = sorted(
        r.document_change.document.name.rsplit("/", 1)[1] for r in resumed if r.document_change.document.name
    )
    deleted = [r.document_delete.document.rsplit("/", 1)[1] for r in resumed if r.document_delete.document]
    assert changed == ["edit", "new"] and deleted == ["drop"]
    types = [r.target_change.target_change_type.name for r in resumed if r._pb.HasField("target_change")]
    assert types == ["ADD", "CURRENT", "NO_CHANGE"]  # no RESET: the client keeps "keep"


# --- 2. recursive() and recursive_delete() ---------------------------------------------------

PHILOSOPHERS = ["Aristotle", "Socrates", "Zeno", "__id7__", "__id-2__", "aquinas", "plato"]


def test_recursive_delete_includes_ids_sorting_before_underscore(db: firestore.Client) -> None:
    col = db.collection("philosophers")
    for name in PHILOSOPHERS[:5]:
        col.document(name).set({"name": name})
    col.document("Socrates").collection("pupils").document("Plato").set({})
    col.document("__id7__").collection("notes").document("n1").set({})
    db.collection("philosophers_other").document("x").set({})  # beside, not below: must survive
    found = sorted(s.reference.path for s in col.recursive().stream())
    assert found == sorted(
        [f"philosophers/{n}" for n in PHILOSOPHERS[:5]]
        + ["philosophers/Socrates/pupils/Plato", "philosophers/__id7__/notes/n1"]
    )
    assert db.recursive_delete(col) == 7
    assert list(col.recursive().stream()) == []
    assert [d.id for d in db.collection("philosophers_other").stream()] == ["x"]


def test_numeric_document_ids_sort_first_by_number(db: firestore.Client) -> None:
    col = db.collection("ids")
    for doc_id in ["b", "__id12__", "A", "__id-3__", "_a", "__id5__", "Socrates"]:
        col.document(doc_id).set({})
    expected = ["__id-3__", "__id5__", "__id12__", "A", "Socrates", "_a", "b"]
    assert [s.id for s in col.stream()] == expected
    assert [d.id for d in col.list_documents()] == expected
    after = col.order_by("__name__").start_after(col.document("__id5__").get())
    assert [s.id for s in after.stream()] == expected[2:]
    with pytest.raises(exceptions.InvalidArgument, match="reserved"):
        col.document("__reserved__").set({})


# --- 3. sum() / avg() over limit() -----------------------------------------------------------


def test_sum_and_avg_apply_the_limit_in_the_aggregated_fields_order(db: firestore.Client) -> None:
    col: Any = db.collection("limited")  # (the client types aggregations loosely)
    for doc_id, x in [("a", 9), ("b", 1), ("c", 2), ("d", 8)]:
        col.document(doc_id).set({"x": x})
    col.document("e").set({"y": 0})  # no x: not part of an aggregation over x
    for _ in range(3):  # the same numbers every time
        assert col.limit(2).sum("x", alias="s").get()[0][0].value == 3  # the two smallest x
        assert col.limit(2).avg("x", alias="a").get()[0][0].value == 1.5
        (descending,) = col.order_by("x", direction=firestore.Query.DESCENDING).limit(2).sum("x").get()
        assert descending[0].value == 17


def test_sum_with_limit_matches_the_client_system_suite(db: firestore.Client) -> None:
    col: Any = db.collection("products")
    for a in range(5):
        for b in range(5):
            col.add({"a": a, "b": b, "stats": {"product": a * b}})  # random document ids
    assert col.sum("stats.product", alias="total").get()[0][0].value == 100
    # the 12 smallest products: nine zeros, 1, 2, 2
    assert col.limit(12).sum("stats.product", alias="total").get()[0][0].value == 5
    assert col.limit(12).avg("stats.product", alias="avg").get()[0][0].value == pytest.approx(5 / 12)


# --- 4. reads at a past read_time --------------------------------------------------------------


def _commit_time(result: Any) -> dt.datetime:
    return result.update_time


def test_reads_at_a_past_read_time(db: firestore.Client) -> None:
    col: Any = db.collection("history")
    t1 = _commit_time(col.document("a").set({"n": 1}))
    col.document("a").collection("sub").document("s").set({})
    col.document("b").set({"n": 2})
    col.document("a").update({"n": 10})
    db.collection("later").document("x").set({})

    assert [(s.id, s.to_dict()) for s in col.stream(read_time=t1)] == [("a", {"n": 1})]
    assert [(s.id, s.to_dict()) for s in col.stream()] == [("a", {"n": 10}), ("b", {"n": 2})]
    assert col.document("a").get(read_time=t1).to_dict() == {"n": 1}
    assert not col.document("b").get(read_time=t1).exists
    got = db.get_all([col.document("a"), col.document("b")], read_time=t1)
    assert sorted((s.id, s.exists) for s in got) == [("a", True), ("b", False)]
    assert col.count().get(read_time=t1)[0][0].value == 1
    assert col.sum("n").get(read_time=t1)[0][0].value == 1
    assert [d.id for d in col.list_documents(read_time=t1)] == ["a"]
    assert [c.id for c in db.collections(read_time=t1)] == ["history"]
    assert [c.id for c in col.document("a").collections(read_time=t1)] == []
    assert sorted(c.id for c in db.collections()) == ["history", "later"]


def test_read_time_inside_transactions(db: firestore.Client) -> None:
    col = db.collection("txn-history")
    t1 = _commit_time(col.document("a").set({"b": 1}))
    col.document("b").set({"b": 2})
    query = col.where(filter=FieldFilter("b", ">", 0))

    @firestore.transactional
    def both(transaction: Any) -> tuple[list, list]:
        then = [s.id for s in transaction.get(query, read_time=t1)]
        now = [s.id for s in transaction.get(query)]
        return then, now

    assert both(db.transaction()) == (["a"], ["a", "b"])

    # a read-only transaction at a past read_time (BeginTransaction's options)
    api, metadata = db._firestore_api, db._rpc_metadata
    begun = api.begin_transaction(
        request={"database": db._database_string, "options": {"read_only": {"read_time": t1}}},
        metadata=metadata,
    )
    request = {
        "parent": f"{db._database_string}/documents",
        "structured_query": query._to_protobuf(),
        "transaction": begun.transaction,
    }
    names = [r.document.name.rsplit("/", 1)[1] for r in api.run_query(request=request, metadata=metadata)]
    assert names == ["a"]


def test_read_time_bounds_and_history_across_restart(emulator: Emulator) -> None:
    db = emulator.client()
    ref = db.collection("kept").document("a")
    t1 = _commit_time(ref.set({"v": 1}))
    ref.set({"v": 2})
    future = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    with pytest.raises(exceptions.InvalidArgument, match="future"):
        ref.get(read_time=future)
    with pytest.raises(exceptions.FailedPrecondition, match="too old"):
        ref.get(read_time=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    emulator.service.stop()
    emulator.service.start()
    db = emulator.client()
    assert db.collection("kept").document("a").get(read_time=t1).to_dict() == {"v": 1}


def test_history_retention_is_configurable(emulator: Emulator, tmp_path: Any) -> None:
    ctx = ServiceContext("127.0.0.1", 0, tmp_path / "short", "rillflow-test", emulator.sink)
    service = FirestoreService(ctx, location="europe-west1", history_seconds=0.5)
    service.start()
    try:
        previous = emulator.service
        emulator.service = service
        db = emulator.client()
        ref = db.collection("short").document("a")
        t1 = _commit_time(ref.set({"v": 1}))
        assert ref.get(read_time=t1).to_dict() == {"v": 1}
        time.sleep(0.6)
        with pytest.raises(exceptions.FailedPrecondition, match="too old"):
            ref.get(read_time=t1)
    finally:
        emulator.service = previous
        service.stop()


# --- 5. details ------------------------------------------------------------------------------


def test_not_equal_nan_excludes_nulls_and_nan(db: firestore.Client) -> None:
    col = db.collection("nan")
    for doc_id, x in [("one", 1), ("nan", math.nan), ("null", None), ("str", "s")]:
        col.document(doc_id).set({"x": x})
    col.document("missing").set({"y": 1})
    assert [s.id for s in col.where(filter=FieldFilter("x", "!=", math.nan)).stream()] == ["one", "str"]
    assert [s.id for s in col.where(filter=FieldFilter("x", "==", math.nan)).stream()] == ["nan"]
    assert [s.id for s in col.where(filter=FieldFilter("x", "!=", None)).stream()] == ["nan", "one", "str"]


def test_delete_write_result_has_no_update_time(db: firestore.Client) -> None:
    ref = db.collection("deleted").document("a")
    ref.set({"v": 1})
    batch = db.batch()
    batch.delete(ref)
    batch.set(db.collection("deleted").document("b"), {"v": 2})
    deleted, written = batch.commit()
    assert not deleted._pb.HasField("update_time")
    assert written._pb.HasField("update_time")
    assert ref.delete() is not None  # DocumentReference.delete reports the commit time instead


def test_unchanged_write_keeps_the_update_time(db: firestore.Client) -> None:
    ref = db.collection("noop").document("a")
    first = ref.set({"v": 1})
    again = ref.set({"v": 1})
    assert again.update_time == first.update_time == ref.get().update_time


def test_aggregation_aliases_must_be_unique_and_present(db: firestore.Client) -> None:
    col = db.collection("agg")
    col.document("a").set({"v": 1})
    with pytest.raises(exceptions.InvalidArgument, match="duplicate alias"):
        col.count(alias="n").sum("v", alias="n").get()
    request: dict[str, Any] = {
        "parent": f"{db._database_string}/documents",
        "structured_aggregation_query": {"structured_query": {"from_": [{"collection_id": "agg"}]}},
    }
    api = db._firestore_api
    with pytest.raises(exceptions.InvalidArgument, match="empty"):
        list(api.run_aggregation_query(request=request, metadata=db._rpc_metadata))
    # an unnamed aggregation is field_<position>: naming another one that way is a duplicate too
    request["structured_aggregation_query"]["aggregations"] = [
        {"count": {}},
        {"alias": "field_1", "count": {}},
    ]
    with pytest.raises(exceptions.InvalidArgument, match="field_1"):
        list(api.run_aggregation_query(request=request, metadata=db._rpc_metadata))


def test_future_last_update_time_precondition_is_invalid(db: firestore.Client) -> None:
    ref = db.collection("pre").document("a")
    ref.set({"v": 1})
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with pytest.raises(exceptions.InvalidArgument):
        ref.update({"v": 2}, option=db.write_option(last_update_time=future))
    with pytest.raises(exceptions.InvalidArgument):
        ref.delete(option=db.write_option(last_update_time=future))
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with pytest.raises(exceptions.FailedPrecondition):
        ref.update({"v": 2}, option=db.write_option(last_update_time=past))


def test_vectors_order_by_dimension_first(db: firestore.Client) -> None:
    col = db.collection("vectors")
    values: dict[str, Any] = {
        "v3": Vector([1.0, 2.0, 3.0]),
        "v1": Vector([5.0]),
        "v2a": Vector([9.0, 0.0]),
        "v2b": Vector([1.0, 9.0]),
        "array": [100.0],
        "map": {"a": 1},
    }
    for doc_id, value in values.items():
        col.document(doc_id).set({"x": value})
    assert [s.id for s in col.order_by("x").stream()] == ["array", "v1", "v2b", "v2a", "v3", "map"]
    bigger = col.where(filter=FieldFilter("x", ">", Vector([5.0])))
    assert [s.id for s in bigger.stream()] == ["v2b", "v2a", "v3"]


def test_listener_and_writer_threads_do_not_block_each_other(db: firestore.Client) -> None:
    """Many writes while a listener is open: every one reaches the listener, in order."""
    col = db.collection("burst")
    seen = Snapshots()
    watch = col.on_snapshot(seen)
    try:
        seen.until(lambda docs, _: docs == [])

        def write() -> None:
            for i in range(40):
                col.document(f"d{i:02d}").set({"i": i})

        writer = threading.Thread(target=write)
        writer.start()
        writer.join()
        docs, _ = seen.until(lambda docs, _: len(docs) == 40)
        assert [d.get("i") for d in docs] == list(range(40))
    finally:
        watch.unsubscribe()
