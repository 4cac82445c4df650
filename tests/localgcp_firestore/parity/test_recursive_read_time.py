"""Recursive queries and deletes; reads at a past ``read_time``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

pytestmark = pytest.mark.parity


@pytest.fixture
def tree(db: firestore.Client) -> firestore.CollectionReference:
    col = db.collection("philosophers")
    for name in ["Aristotle", "Socrates", "Zeno", "__id7__", "plato"]:
        col.document(name).set({"name": name})
    col.document("Socrates").collection("pupils").document("Plato").set({})
    col.document("__id7__").collection("notes").document("n1").set({})
    col.document("missing").collection("kept").document("k").set({})  # "missing" itself does not exist
    db.collection("philosophers_other").document("x").set({})  # beside, not below
    db.collection("aaa").document("before").set({})
    return col


def test_recursive_query(tree: firestore.CollectionReference) -> None:
    found = sorted(s.reference.path for s in tree.recursive().stream())
    assert found == [
        "philosophers/Aristotle",
        "philosophers/Socrates",
        "philosophers/Socrates/pupils/Plato",
        "philosophers/Zeno",
        "philosophers/__id7__",
        "philosophers/__id7__/notes/n1",
        "philosophers/missing/kept/k",
        "philosophers/plato",
    ]
    nested = tree.document("Socrates").collection("pupils").recursive()
    assert [s.reference.path for s in nested.stream()] == ["philosophers/Socrates/pupils/Plato"]


def test_recursive_delete_collection(db: firestore.Client, tree: firestore.CollectionReference) -> None:
    assert db.recursive_delete(tree) == 8
    assert list(tree.recursive().stream()) == []
    assert sorted(c.id for c in db.collections()) == ["aaa", "philosophers_other"]


def test_recursive_delete_document(db: firestore.Client, tree: firestore.CollectionReference) -> None:
    assert db.recursive_delete(tree.document("Socrates")) == 2
    assert sorted(s.id for s in tree.stream()) == ["Aristotle", "Zeno", "__id7__", "plato"]
    assert db.recursive_delete(tree.document("nothing")) == 1  # the document itself, absent or not


def test_reads_at_read_time(db: firestore.Client) -> None:
    col: Any = db.collection("history")  # (the client types aggregations loosely)
    t1 = col.document("a").set({"n": 1}).update_time
    col.document("a").collection("sub").document("s").set({})
    col.document("b").set({"n": 2})
    col.document("a").update({"n": 10})
    col.document("c").set({"n": 3})
    col.document("c").delete()
    db.collection("later").document("x").set({})

    assert [(s.id, s.to_dict()) for s in col.stream(read_time=t1)] == [("a", {"n": 1})]
    assert col.document("a").get(read_time=t1).to_dict() == {"n": 1}
    assert not col.document("b").get(read_time=t1).exists
    got = db.get_all([col.document("a"), col.document("b")], read_time=t1)
    assert sorted((s.id, s.exists) for s in got) == [("a", True), ("b", False)]
    assert col.count().get(read_time=t1)[0][0].value == 1
    assert col.sum("n").get(read_time=t1)[0][0].value == 1
    assert col.where(filter=FieldFilter("n", ">", 0)).avg("n").get(read_time=t1)[0][0].value == 1
    assert [d.id for d in col.list_documents(read_time=t1)] == ["a"]
    assert [c.id for c in db.collections(read_time=t1)] == ["history"]
    assert [c.id for c in col.document("a").collections(read_time=t1)] == []
    assert [s.id for s in db.collection_group("sub").stream(read_time=t1)] == []
    assert [s.id for s in col.stream()] == ["a", "b"]


def test_read_time_in_transactions(db: firestore.Client) -> None:
    col = db.collection("txn-history")
    t1 = col.document("a").set({"b": 1}).update_time
    col.document("b").set({"b": 2})
    query = col.where(filter=FieldFilter("b", ">", 0))

    @firestore.transactional
    def both(transaction: Any) -> tuple[list, list]:
        return [s.id for s in transaction.get(query, read_time=t1)], [s.id for s in transaction.get(query)]

    assert both(db.transaction()) == (["a"], ["a", "b"])

    api, metadata = db._firestore_api, db._rpc_metadata
    options = {"read_only": {"read_time": t1}}
    begun = api.begin_transaction(
        request={"database": db._database_string, "options": options}, metadata=metadata
    )
    request = {
        "parent": f"{db._database_string}/documents",
        "structured_query": query._to_protobuf(),
        "transaction": begun.transaction,
    }
    found = [r.document.name.rsplit("/", 1)[1] for r in api.run_query(request=request, metadata=metadata)]
    assert found == ["a"]


def test_read_time_in_the_future_is_invalid(db: firestore.Client) -> None:
    ref = db.collection("future").document("a")
    ref.set({})
    with pytest.raises(exceptions.InvalidArgument, match="future"):
        ref.get(read_time=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))


def test_read_time_before_the_database_existed(db: firestore.Client) -> None:
    ref = db.collection("young").document("a")
    ref.set({"v": 1})
    assert not ref.get(read_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)).exists
