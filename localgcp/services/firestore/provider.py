"""The ``google.firestore.v1.Firestore`` gRPC servicer: request handling over the store.

Messages are the raw protobuf classes behind ``google.cloud.firestore_v1.types`` (``Type.pb()``),
so the wire format is exactly the client's (the query field ``from`` is ``from_`` there too).
"""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Iterator
from typing import Any

import grpc
from google.cloud.firestore_v1.types import firestore as fs
from google.cloud.firestore_v1.types import write as write_types
from google.protobuf import empty_pb2
from google.rpc import status_pb2

from localgcp.events import EventSink
from localgcp.services.firestore.errors import FirestoreError, invalid, not_found
from localgcp.services.firestore.events import change_events, event_time
from localgcp.services.firestore.query import run_aggregation, run_structured_query
from localgcp.services.firestore.store import DocumentStore
from localgcp.services.firestore.transactions import Transaction, TransactionManager
from localgcp.services.firestore.values import (
    Document,
    check_id,
    database_root,
    get_field,
    parse_field_path,
    reference_key,
    set_field,
    set_timestamp,
    split_name,
    timestamp_micros,
)
from localgcp.services.firestore.watch import ListenStream, WatchHub
from localgcp.services.firestore.writes import WritePlan

log = logging.getLogger(__name__)
_Write = write_types.Write.pb()
_AUTO_ID_ALPHABET = string.ascii_letters + string.digits


class FirestoreProvider:
    def __init__(self, store: DocumentStore, sink: EventSink, location: str) -> None:
        self.store = store
        self.sink = sink
        self.location = location
        self.transactions = TransactionManager()
        self.watch = WatchHub()

    # --- writes ------------------------------------------------------------------------------
    def commit(
        self, writes: Any, txn: Transaction | None = None, atomic: bool = True
    ) -> tuple[list, int, list]:
        """Apply writes in one SQLite transaction; emit events after it commits.

        Returns (write results, commit micros, per-write errors for non-atomic BatchWrite)."""
        names = [_write_name(w) for w in writes]
        try:
            with self.store.lock:
                if txn is not None:
                    if txn.read_only and writes:
                        raise invalid("Cannot modify entities in a read-only transaction.")
                    self.transactions.start_commit(txn)
                commit_us = self.store.next_commit_micros()
                stored = self.store.get_many(names + (list(txn.reads) if txn else []))
                if txn is not None:
                    _validate_reads(txn, stored)
                plan = WritePlan(commit_us, stored)
                results: list = []
                errors: list = []
                for write in writes:
                    if atomic:
                        results.append(plan.apply(write))
                    else:
                        result, error = plan.try_apply(write)
                        results.append(result)
                        errors.append(error)
                upserts, deletes, changes = plan.outcome()
                self.store.apply(upserts, deletes, commit_us)
                self.watch.publish(commit_us, [change.name for change in changes])
        finally:
            if txn is not None:
                self.transactions.finish(txn)
        when = event_time(commit_us)
        for change in changes:
            for event in change_events(change, when, self.location):
                try:
                    self.sink.emit(event)
                except Exception:  # the write is committed; a broken sink must not undo or fail it
                    log.exception("event sink failed for %s", change.name)
        return results, commit_us, errors

    def Commit(self, request: Any, context: Any) -> Any:
        txn = self.transactions.get(request.transaction) if request.transaction else None
        results, commit_us, _ = self.commit(request.writes, txn)
        response = fs.CommitResponse.pb()()
        response.write_results.extend(results)
        set_timestamp(response.commit_time, commit_us)
        return response

    def BatchWrite(self, request: Any, context: Any) -> Any:
        results, _, errors = self.commit(request.writes, atomic=False)
        response = fs.BatchWriteResponse.pb()()
        for result, error in zip(results, errors, strict=True):
            written = response.write_results.add()
            if result is not None:
                written.CopyFrom(result)
            status = status_pb2.Status()
            if error is not None:
                status.code, status.message = error.code.value[0], error.message
            response.status.append(status)
        return response

    def CreateDocument(self, request: Any, context: Any) -> Any:
        doc_id = request.document_id or "".join(secrets.choice(_AUTO_ID_ALPHABET) for _ in range(20))
        write = _Write()
        write.update.CopyFrom(request.document)
        write.update.name = f"{request.parent}/{request.collection_id}/{doc_id}"
        write.current_document.exists = False
        self.commit([write])
        return self._read_one(write.update.name, request.mask if request.HasField("mask") else None)

    def UpdateDocument(self, request: Any, context: Any) -> Any:
        write = _Write()
        write.update.CopyFrom(request.document)
        if request.HasField("update_mask"):
            write.update_mask.CopyFrom(request.update_mask)
        if request.HasField("current_document"):
            write.current_document.CopyFrom(request.current_document)
        self.commit([write])
        return self._read_one(request.document.name, request.mask if request.HasField("mask") else None)

    def DeleteDocument(self, request: Any, context: Any) -> Any:
        write = _Write()
        write.delete = request.name
        if request.HasField("current_document"):
            write.current_document.CopyFrom(request.current_document)
        self.commit([write])
        return empty_pb2.Empty()

    # --- transactions ------------------------------------------------------------------------
    def BeginTransaction(self, request: Any, context: Any) -> Any:
        database_root(request.database + "/documents")
        txn = self._begin(request.options if request.HasField("options") else None)
        response = fs.BeginTransactionResponse.pb()()
        response.transaction = txn.id
        return response

    def _begin(self, options: Any | None) -> Transaction:
        if options is not None and options.HasField("read_only"):
            # a read-only transaction reads one consistent snapshot: its read_time, or its start
            if options.read_only.HasField("read_time"):
                read_us = timestamp_micros(options.read_only.read_time)
                self.store.check_read_time(read_us)
            else:
                read_us = self.store.next_commit_micros()
            return self.transactions.begin(read_only=True, read_us=read_us)
        retry = options.read_write.retry_transaction if options is not None else b""
        return self.transactions.begin(read_only=False, retry_id=retry or None)

    def Rollback(self, request: Any, context: Any) -> Any:
        self.transactions.rollback(request.transaction)
        return empty_pb2.Empty()

    def _consistency(self, request: Any) -> tuple[Transaction | None, bytes, int | None]:
        """The transaction a read runs in (existing or new), the id to return for a new one, and
        the time it reads at (None: now) — a past ``read_time``, or a read-only transaction's."""
        selector = request.WhichOneof("consistency_selector")
        if selector == "transaction":
            txn = self.transactions.get(request.transaction)
            if txn.read_us is not None:  # still inside the retained history?
                self.store.check_read_time(txn.read_us)
            return txn, b"", txn.read_us
        if selector == "new_transaction":
            txn = self._begin(request.new_transaction)
            return txn, txn.id, txn.read_us
        if selector == "read_time":
            read_us = timestamp_micros(request.read_time)
            self.store.check_read_time(read_us)
            return None, b"", read_us
        return None, b"", None

    def _locked_read(self, txn: Transaction | None, names: list[str], read_us: int | None = None) -> dict:
        if read_us is not None:  # a snapshot in the past: no locks, nothing to validate at commit
            return self.store.get_many(names, read_us)
        if txn is not None:
            self.transactions.lock_for_read(txn, names)
        stored = self.store.get_many(names)
        if txn is not None:
            self.transactions.record_reads(txn, {n: stored[n].update_us if n in stored else 0 for n in names})
        return stored

    def _read_time(self, read_us: int | None) -> int:
        return read_us if read_us is not None else self.store.next_commit_micros()

    # --- reads -------------------------------------------------------------------------------
    def _read_one(
        self, name: str, mask: Any | None, txn: Transaction | None = None, read_us: int | None = None
    ) -> Any:
        split_name(name)
        row = self._locked_read(txn, [name], read_us).get(name)
        if row is None:
            raise not_found(f"Document {name} not found.")
        return _masked(Document.FromString(row.doc), mask)

    def GetDocument(self, request: Any, context: Any) -> Any:
        txn, _, read_us = self._consistency(request)
        mask = request.mask if request.HasField("mask") else None
        return self._read_one(request.name, mask, txn, read_us)

    def BatchGetDocuments(self, request: Any, context: Any) -> Iterator[Any]:
        txn, new_id, read_us = self._consistency(request)
        names = list(request.documents)
        for name in names:
            split_name(name)
        stored = self._locked_read(txn, names, read_us)
        read_us = self._read_time(read_us)
        mask = request.mask if request.HasField("mask") else None
        for name in names:
            response = fs.BatchGetDocumentsResponse.pb()()
            if name in stored:
                response.found.CopyFrom(_masked(Document.FromString(stored[name].doc), mask))
            else:
                response.missing = name
            set_timestamp(response.read_time, read_us)
            if new_id:
                response.transaction, new_id = new_id, b""
            yield response

    def RunQuery(self, request: Any, context: Any) -> Iterator[Any]:
        txn, new_id, read_us = self._consistency(request)
        if not request.HasField("structured_query"):
            raise invalid("a structured query is required")
        docs = run_structured_query(self.store, request.parent, request.structured_query, read_us)
        self._record_query_reads(txn, docs, read_us)
        read_us = self._read_time(read_us)
        for index in range(max(len(docs), 1)):
            response = fs.RunQueryResponse.pb()()
            if docs:
                response.document.CopyFrom(docs[index])
            set_timestamp(response.read_time, read_us)
            if new_id and index == 0:
                response.transaction = new_id
            response.done = index == len(docs) - 1 or not docs
            yield response

    def _record_query_reads(self, txn: Transaction | None, docs: list, read_us: int | None) -> None:
        if txn is not None and read_us is None:
            self.transactions.lock_for_read(txn, [d.name for d in docs])
            self.transactions.record_reads(txn, {d.name: timestamp_micros(d.update_time) for d in docs})

    def RunAggregationQuery(self, request: Any, context: Any) -> Iterator[Any]:
        txn, new_id, read_us = self._consistency(request)
        aggregation = request.structured_aggregation_query
        if not aggregation.HasField("structured_query"):
            raise invalid("a structured query is required")
        docs, results = run_aggregation(self.store, request.parent, aggregation, read_us)
        self._record_query_reads(txn, docs, read_us)
        response = fs.RunAggregationQueryResponse.pb()()
        for alias, value in results.items():
            response.result.aggregate_fields[alias].CopyFrom(value)
        set_timestamp(response.read_time, self._read_time(read_us))
        if new_id:
            response.transaction = new_id
        yield response

    def Listen(self, requests: Iterator[Any], context: Any) -> Iterator[Any]:
        """The watch stream behind ``on_snapshot`` (see :mod:`.watch`)."""
        yield from ListenStream(self.store, self.watch, requests, context).responses()

    def PartitionQuery(self, request: Any, context: Any) -> Any:
        """No split points: the whole query is one partition (valid for any partition count)."""
        database_root(request.parent)
        return fs.PartitionQueryResponse.pb()()

    def ListDocuments(self, request: Any, context: Any) -> Any:
        txn, _, read_us = self._consistency(request)
        if not request.collection_id:
            raise invalid("collection_id is required")
        check_id(request.collection_id, "Collection")
        collection = f"{request.parent}/{request.collection_id}"
        docs = {
            Document.FromString(row).name: row
            for row in self.store.collection(request.parent, request.collection_id, read_us)
        }
        entries: dict[str, Any] = {name: None for name in docs}
        if request.show_missing:
            for name in self.store.descendant_names(collection, read_us):
                entries.setdefault("/".join(name.split("/")[: len(collection.split("/")) + 1]), None)
        names = sorted(entries, key=reference_key)
        if request.page_token:
            after = reference_key(request.page_token)
            names = [n for n in names if reference_key(n) > after]
        page = names[: request.page_size] if request.page_size > 0 else names
        if txn is not None and read_us is None:
            self._locked_read(txn, [n for n in page if n in docs])
        mask = request.mask if request.HasField("mask") else None
        response = fs.ListDocumentsResponse.pb()()
        for name in page:
            if name in docs:
                response.documents.append(_masked(Document.FromString(docs[name]), mask))
            else:
                response.documents.add().name = name
        if request.page_size > 0 and len(names) > len(page):
            response.next_page_token = page[-1]
        return response

    def ListCollectionIds(self, request: Any, context: Any) -> Any:
        database_root(request.parent)
        read_us = None
        if request.WhichOneof("consistency_selector") == "read_time":
            read_us = timestamp_micros(request.read_time)
            self.store.check_read_time(read_us)
        depth = len(request.parent.split("/"))
        names = self.store.descendant_names(request.parent, read_us)
        ids = sorted({name.split("/")[depth] for name in names})
        ids = [i for i in ids if i > request.page_token]
        page = ids[: request.page_size] if request.page_size > 0 else ids
        response = fs.ListCollectionIdsResponse.pb()()
        response.collection_ids.extend(page)
        if len(page) < len(ids):
            response.next_page_token = page[-1]
        return response


def _write_name(write: Any) -> str:
    op = write.WhichOneof("operation")
    if op == "update":
        return str(write.update.name)
    if op == "delete":
        return str(write.delete)
    if op == "transform":
        return str(write.transform.document)
    raise invalid("write has no operation (update, delete or transform)")


def _validate_reads(txn: Transaction, stored: dict) -> None:
    for name, version in txn.reads.items():
        current = stored[name].update_us if name in stored else 0
        if current != version:
            raise FirestoreError(
                grpc.StatusCode.ABORTED,
                f"Transaction aborted: {name} changed after the transaction read it. Please retry.",
            )


def _masked(doc: Any, mask: Any | None) -> Any:
    if mask is None:
        return doc
    out = Document()
    out.name = doc.name
    out.create_time.CopyFrom(doc.create_time)
    out.update_time.CopyFrom(doc.update_time)
    for text in mask.field_paths:
        path = parse_field_path(text)
        value = get_field(doc.fields, path)
        if value is not None:
            set_field(out.fields, path, value)
    return out
