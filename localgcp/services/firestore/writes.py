"""Turning ``google.firestore.v1.Write`` messages into new document states (pure, no I/O).

A :class:`WritePlan` starts from the stored documents a commit touches, applies each write in
order (preconditions, replace or masked update, field transforms, delete), and ends with the
rows to store and one :class:`DocumentChange` per document whose content changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.cloud.firestore_v1.types import write as write_types

from localgcp.services.firestore.errors import (
    FirestoreError,
    already_exists,
    failed_precondition,
    invalid,
    not_found,
)
from localgcp.services.firestore.store import StoredDocument, Upsert
from localgcp.services.firestore.transforms import apply_transforms
from localgcp.services.firestore.values import (
    Document,
    delete_field,
    get_field,
    parse_field_path,
    set_field,
    set_timestamp,
    split_name,
    timestamp_micros,
)

WriteResult = write_types.WriteResult.pb()


@dataclass
class _State:
    doc: Any | None  # Document pb, None when absent
    create_us: int
    update_us: int


@dataclass
class DocumentChange:
    """What one commit did to one document: before and after (None = absent)."""

    name: str
    old: Any | None
    new: Any | None


@dataclass
class WritePlan:
    commit_us: int
    stored: dict[str, StoredDocument]
    _states: dict[str, _State] = field(default_factory=dict)
    _original: dict[str, Any | None] = field(default_factory=dict)
    _touched: dict[str, None] = field(default_factory=dict)

    def _state(self, name: str) -> _State:
        if name not in self._states:
            row = self.stored.get(name)
            doc = Document.FromString(row.doc) if row else None
            self._states[name] = _State(doc, row.create_us if row else 0, row.update_us if row else 0)
            self._original[name] = doc
        return self._states[name]

    def apply(self, write: Any) -> Any:
        """Apply one write; return its WriteResult. Raises FirestoreError leaving the plan unchanged."""
        op = write.WhichOneof("operation")
        if op == "delete":
            name = write.delete
        elif op == "update":
            name = write.update.name
        elif op == "transform":
            name = write.transform.document
        else:
            raise invalid("write has no operation (update, delete or transform)")
        split_name(name)
        state = self._state(name)
        if write.HasField("current_document"):
            _check_precondition(name, state, write.current_document)
        result = WriteResult()
        if op == "delete":  # the service sets no update_time on a delete's result
            self._states[name] = _State(None, 0, 0)
            self._touched[name] = None
            return result
        new = Document()
        if op == "update" and not write.HasField("update_mask"):
            new.fields.MergeFrom(write.update.fields)
        else:
            if state.doc is not None:
                new.fields.MergeFrom(state.doc.fields)
            if op == "update":
                for text in write.update_mask.field_paths:
                    path = parse_field_path(text)
                    value = get_field(write.update.fields, path)
                    if value is None:
                        delete_field(new.fields, path)
                    else:
                        set_field(new.fields, path, value)
        transforms = write.transform.field_transforms if op == "transform" else write.update_transforms
        result.transform_results.extend(apply_transforms(new.fields, transforms, self.commit_us))
        self._touched[name] = None
        if state.doc is not None and new.fields == state.doc.fields:
            # a write that changes nothing keeps the document's update time (and reports it)
            set_timestamp(result.update_time, state.update_us)
            return result
        set_timestamp(result.update_time, self.commit_us)
        new.name = name
        create_us = state.create_us if state.doc is not None else self.commit_us
        set_timestamp(new.create_time, create_us)
        set_timestamp(new.update_time, self.commit_us)
        self._states[name] = _State(new, create_us, self.commit_us)
        return result

    def try_apply(self, write: Any) -> tuple[Any | None, FirestoreError | None]:
        """Apply independently (BatchWrite): a failed write leaves the others untouched."""
        try:
            return self.apply(write), None
        except FirestoreError as exc:
            return None, exc

    def outcome(self) -> tuple[list[Upsert], list[str], list[DocumentChange]]:
        """Rows to store, names to delete, and the content changes (no-op writes change nothing)."""
        upserts: list[Upsert] = []
        deletes: list[str] = []
        changes: list[DocumentChange] = []
        for name in self._touched:
            state = self._states[name]
            old = self._original[name]
            if state.doc is None:
                if old is not None:
                    deletes.append(name)
                    changes.append(DocumentChange(name, old, None))
                continue
            if old is not None and state.doc is old:
                continue  # unchanged: nothing to store, no new version
            _, parent, collection_id = split_name(name)
            upserts.append(
                Upsert(
                    name,
                    parent,
                    collection_id,
                    state.doc.SerializeToString(),
                    state.create_us,
                    state.update_us,
                )
            )
            if old is None or old.fields != state.doc.fields:
                changes.append(DocumentChange(name, old, state.doc))
        return upserts, deletes, changes


def _check_precondition(name: str, state: _State, precondition: Any) -> None:
    kind = precondition.WhichOneof("condition_type")
    exists = state.doc is not None
    if kind == "exists":
        if precondition.exists and not exists:
            raise not_found(f"No document to update: {name}")
        if not precondition.exists and exists:
            raise already_exists(f"Document already exists: {name}")
    elif kind == "update_time":
        wanted = precondition.update_time
        if exists and (timestamp_micros(wanted), wanted.nanos % 1000) > (state.update_us, 0):
            raise invalid(f"Invalid base version, it is greater than the stored version: {name}")
        if not exists or wanted.nanos % 1000 or timestamp_micros(wanted) != state.update_us:
            raise failed_precondition(
                f"The document {name} does not have the required update time "
                f"{precondition.update_time.seconds}.{precondition.update_time.nanos:09d}"
            )
