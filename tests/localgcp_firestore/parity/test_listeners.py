"""Listeners (``on_snapshot``): documents, collections, queries with filters, order and limit."""

from __future__ import annotations

import pytest
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from tests.localgcp_firestore.watching import Snapshots, data_of

pytestmark = pytest.mark.parity


def names(docs: list) -> list[str]:
    return [d.id for d in docs]


def kinds(changes: list) -> list[tuple[str, str]]:
    return sorted((c.type.name, c.document.id) for c in changes)


def test_document_listener(db: firestore.Client) -> None:
    ref = db.collection("watched").document("ada")
    seen = Snapshots()
    watch = ref.on_snapshot(seen)
    try:
        seen.until(lambda docs, _: docs == [])
        ref.set({"first": "Ada"})
        _, changes = seen.until(lambda docs, _: data_of(docs) == {"ada": {"first": "Ada"}})
        assert kinds(changes) == [("ADDED", "ada")]
        ref.update({"born": 1815})
        _, changes = seen.until(lambda docs, _: data_of(docs) == {"ada": {"first": "Ada", "born": 1815}})
        assert kinds(changes) == [("MODIFIED", "ada")]
        ref.delete()
        _, changes = seen.until(lambda docs, _: docs == [])
        assert kinds(changes) == [("REMOVED", "ada")]
    finally:
        watch.unsubscribe()


def test_existing_document_listener_starts_with_it(db: firestore.Client) -> None:
    ref = db.collection("watched").document("b")
    ref.set({"v": 1})
    seen = Snapshots()
    watch = ref.on_snapshot(seen)
    try:
        docs, changes = seen.until(lambda docs, _: len(docs) == 1)
        assert docs[0].to_dict() == {"v": 1} and docs[0].read_time is not None
        assert kinds(changes) == [("ADDED", "b")]
    finally:
        watch.unsubscribe()


def test_collection_listener(db: firestore.Client) -> None:
    col = db.collection("people")
    col.document("a").set({"age": 30})
    seen = Snapshots()
    watch = col.on_snapshot(seen)
    try:
        seen.until(lambda docs, _: names(docs) == ["a"])
        batch = db.batch()
        batch.set(col.document("b"), {"age": 20})
        batch.update(col.document("a"), {"age": 31})
        batch.commit()
        _, changes = seen.until(lambda docs, _: data_of(docs) == {"a": {"age": 31}, "b": {"age": 20}})
        assert kinds(changes) == [("ADDED", "b"), ("MODIFIED", "a")]
        db.collection("elsewhere").document("x").set({})  # outside: no snapshot for it
        col.document("a").collection("sub").document("s").set({})  # below: not in the collection
        col.document("b").delete()
        _, changes = seen.until(lambda docs, _: names(docs) == ["a"])
        assert kinds(changes) == [("REMOVED", "b")]
    finally:
        watch.unsubscribe()


def test_query_listener_filters_orders_and_limits(db: firestore.Client) -> None:
    col = db.collection("scores")
    for doc_id, score in [("a", 10), ("b", 50), ("c", 30)]:
        col.document(doc_id).set({"score": score})
    top2 = col.where(filter=FieldFilter("score", ">", 5)).order_by(
        "score", direction=firestore.Query.DESCENDING
    )
    seen = Snapshots()
    watch = top2.limit(2).on_snapshot(seen)
    try:
        # (the client orders a snapshot's documents itself, ignoring descending directions: compare sets)
        seen.until(lambda docs, _: sorted(names(docs)) == ["b", "c"])
        col.document("d").set({"score": 40})  # enters, pushes c out of the limit
        _, changes = seen.until(lambda docs, _: sorted(names(docs)) == ["b", "d"])
        assert kinds(changes) == [("ADDED", "d"), ("REMOVED", "c")]
        col.document("b").update({"score": 1})  # leaves the filter: c comes back
        _, changes = seen.until(lambda docs, _: sorted(names(docs)) == ["c", "d"])
        assert kinds(changes) == [("ADDED", "c"), ("REMOVED", "b")]
        col.document("d").update({"score": 45, "note": "x"})
        _, changes = seen.until(lambda docs, _: data_of(docs).get("d", {}).get("note") == "x")
        assert kinds(changes) == [("MODIFIED", "d")]
    finally:
        watch.unsubscribe()


def test_collection_group_listener(db: firestore.Client) -> None:
    db.collection("users").document("u1").collection("orders").document("o1").set({"v": 1})
    seen = Snapshots()
    watch = db.collection_group("orders").on_snapshot(seen)
    try:
        seen.until(lambda docs, _: names(docs) == ["o1"])
        db.collection("users").document("u2").collection("orders").document("o2").set({"v": 2})
        db.collection("orders").document("o0").set({"v": 0})
        seen.until(lambda docs, _: sorted(names(docs)) == ["o0", "o1", "o2"])
    finally:
        watch.unsubscribe()


def test_unsubscribe_stops_callbacks(db: firestore.Client) -> None:
    col = db.collection("quiet")
    seen = Snapshots()
    watch = col.on_snapshot(seen)
    seen.until(lambda docs, _: docs == [])
    watch.unsubscribe()
    col.document("a").set({})
    with pytest.raises(AssertionError, match="no snapshot"):
        seen.until(lambda docs, _: True, timeout=0.5)
