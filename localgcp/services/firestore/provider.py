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
from localgcp.services.firestore.errors import FirestoreError, invalid, not_found, unimplemented
from localgcp.services.firestore.events import change_events, event_time
from localgcp.services.firestore.query import aggregate, run_structured_query
from localgcp.services.firestore.store import DocumentStore
from localgcp.services.firestore.transactions import Transaction, TransactionManager
from localgcp.services.firestore.values import (
    Document,
    database_root,
    get_field,
    parse_field_path,
    set_field,
    set_timestamp,
    split_name,
    timestamp_micros,
)
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
                self.store.apply(upserts, deletes)
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
            if options.read_only.HasField("read_time"):
                raise unimplemented("read-only transactions at a past read_time are not supported")
            return self.transactions.begin(read_only=True)
        retry = options.read_write.retry_transaction if options is not None else b""
        return self.transactions.begin(read_only=False, retry_id=retry or None)

    def Rollback(self, request: Any, context: Any) -> Any:
        self.transactions.finish(self.transactions.get(request.transaction))
        return empty_pb2.Empty()

    def _consistency(self, request: Any) -> tuple[Transaction | None, bytes]:
        """The transaction a read runs in (existing or new) and the id to return for a new one."""
        selector = request.WhichOneof("consistency_selector")
        if selector == "transaction":
            return self.transactions.get(request.transaction), b""
        if selector == "new_transaction":
            txn = self._begin(request.new_transaction)
            return txn, txn.id
        if selector == "read_time":
            raise unimplemented("reads at a past read_time are not supported by the local Firestore emulator")
        return None, b""

    def _locked_read(self, txn: Transaction | None, names: list[str]) -> dict:
        if txn is not None:
            self.transactions.lock_for_read(txn, names)
        stored = self.store.get_many(names)
        if txn is not None:
            self.transactions.record_reads(txn, {n: stored[n].update_us if n in stored else 0 for n in names})
        return stored

    # --- reads -------------------------------------------------------------------------------
    def _read_one(self, name: str, mask: Any | None, txn: Transaction | None = None) -> Any:
        split_name(name)
        row = self._locked_read(txn, [name]).get(name)
        if row is None:
            raise not_found(f"Document {name} not found.")
        return _masked(Document.FromString(row.doc), mask)

    def GetDocument(self, request: Any, context: Any) -> Any:
        txn, _ = self._consistency(request)
        return self._read_one(request.name, request.mask if request.HasField("mask") else None, txn)

    def BatchGetDocuments(self, request: Any, context: Any) -> Iterator[Any]:
        txn, new_id = self._consistency(request)
        names = list(request.documents)
        for name in names:
            split_name(name)
        stored = self._locked_read(txn, names)
        read_us = self.store.next_commit_micros()
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
        txn, new_id = self._consistency(request)
        docs = self._query(request, txn)
        read_us = self.store.next_commit_micros()
        for index in range(max(len(docs), 1)):
            response = fs.RunQueryResponse.pb()()
            if docs:
                response.document.CopyFrom(docs[index])
            set_timestamp(response.read_time, read_us)
            if new_id and index == 0:
                response.transaction = new_id
            response.done = index == len(docs) - 1 or not docs
            yield response

    def _query(self, request: Any, txn: Transaction | None) -> list:
        if not request.HasField("structured_query"):
            raise invalid("a structured query is required")
        docs = run_structured_query(self.store, request.parent, request.structured_query)
        if txn is not None:
            self.transactions.lock_for_read(txn, [d.name for d in docs])
            self.transactions.record_reads(txn, {d.name: timestamp_micros(d.update_time) for d in docs})
        return docs

    def RunAggregationQuery(self, request: Any, context: Any) -> Iterator[Any]:
        txn, new_id = self._consistency(request)
        aggregation = request.structured_aggregation_query
        if not aggregation.HasField("structured_query"):
            raise invalid("a structured query is required")
        docs = self._query(_QueryRequest(request.parent, aggregation.structured_query), txn)
        response = fs.RunAggregationQueryResponse.pb()()
        for alias, value in aggregate(docs, aggregation.aggregations).items():
            response.result.aggregate_fields[alias].CopyFrom(value)
        set_timestamp(response.read_time, self.store.next_commit_micros())
        if new_id:
            response.transaction = new_id
        yield response

    def PartitionQuery(self, request: Any, context: Any) -> Any:
        """No split points: the whole query is one partition (valid for any partition count)."""
        database_root(request.parent)
        return fs.PartitionQueryResponse.pb()()

    def ListDocuments(self, request: Any, context: Any) -> Any:
        txn, _ = self._consistency(request)
        if not request.collection_id:
            raise invalid("collection_id is required")
        collection = f"{request.parent}/{request.collection_id}"
        docs = {
            Document.FromString(row).name: row
            for row in self.store.collection(request.parent, request.collection_id)
        }
        entries: dict[str, Any] = {name: None for name in docs}
        if request.show_missing:
            for name in self.store.descendant_names(collection):
                entries.setdefault("/".join(name.split("/")[: len(collection.split("/")) + 1]), None)
        names = sorted(entries, key=lambda n: n.split("/"))
        names = [n for n in names if not request.page_token or n.split("/") > request.page_token.split("/")]
        page = names[: request.page_size] if request.page_size > 0 else names
        if txn is not None:
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
        depth = len(request.parent.split("/"))
        ids = sorted({name.split("/")[depth] for name in self.store.descendant_names(request.parent)})
        ids = [i for i in ids if i > request.page_token]
        page = ids[: request.page_size] if request.page_size > 0 else ids
        response = fs.ListCollectionIdsResponse.pb()()
        response.collection_ids.extend(page)
        if len(page) < len(ids):
            response.next_page_token = page[-1]
        return response


class _QueryRequest:
    """The parts of a RunQueryRequest that :meth:`FirestoreProvider._query` reads."""

    def __init__(self, parent: str, structured_query: Any) -> None:
        self.parent = parent
        self.structured_query = structured_query

    def HasField(self, name: str) -> bool:  # noqa: N802 - mirrors the protobuf API
        return name == "structured_query"


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
