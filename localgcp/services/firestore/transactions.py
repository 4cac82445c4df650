"""Transactions: per-document locks for read-write transactions plus commit-time validation.

Read-write transactions lock every document they read (as the real service does), so threads
incrementing one counter queue up instead of failing. Deadlocks are avoided with wound-wait:
an older transaction (by begin order; a retry keeps its original place via
``retry_transaction``) takes a lock from a younger holder, whose commit then fails with ABORTED
so the client retries. Writes outside transactions do not wait for locks; instead every commit
re-checks the versions its transaction read and fails with ABORTED when one changed.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from localgcp.services.firestore.errors import aborted, invalid

LOCK_WAIT_SECONDS = 45.0
#: a transaction idle this long loses its locks to anyone waiting (an abandoned client)
IDLE_SECONDS = 20.0
#: a transaction idle this long is forgotten altogether
EXPIRY_SECONDS = 270.0


@dataclass(eq=False)
class Transaction:
    id: bytes
    seq: int
    read_only: bool
    #: a read-only transaction reads one snapshot: the database as of this time (microseconds)
    read_us: int | None = None
    reads: dict[str, int] = field(default_factory=dict)  # name -> update_us seen (0 = absent)
    locks: set[str] = field(default_factory=set)
    wounded: bool = False
    committing: bool = False
    last_active: float = field(default_factory=time.monotonic)


class TransactionManager:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._live: dict[bytes, Transaction] = {}
        self._owners: dict[str, Transaction] = {}
        self._finished_seq: OrderedDict[bytes, int] = OrderedDict()
        self._seq = itertools.count(1)

    def begin(
        self, read_only: bool, retry_id: bytes | None = None, read_us: int | None = None
    ) -> Transaction:
        with self._cond:
            self._expire_idle()
            seq = self._finished_seq.get(retry_id or b"") or next(self._seq)
            if retry_id in self._live:
                seq = self._live[retry_id].seq
                self._finish_locked(self._live[retry_id])
            txn = Transaction(os.urandom(16), seq, read_only, read_us if read_only else None)
            self._live[txn.id] = txn
            return txn

    def get(self, txn_id: bytes) -> Transaction:
        with self._cond:
            txn = self._live.get(txn_id)
            if txn is None:
                raise invalid("The referenced transaction has expired or is no longer valid.")
            txn.last_active = time.monotonic()
            return txn

    def rollback(self, txn_id: bytes) -> None:
        """Release a live transaction; rolling back a finished one (committed, failed, rolled
        back) is a no-op, as in the service — the client rolls back after a failed commit."""
        with self._cond:
            txn = self._live.get(txn_id)
            if txn is not None:
                self._finish_locked(txn)
            elif txn_id not in self._finished_seq:
                raise invalid("Invalid transaction.")

    def lock_for_read(self, txn: Transaction, names: Iterable[str]) -> None:
        """Take the documents' locks for a read-write transaction (waiting, or wounding a younger holder)."""
        if txn.read_only:
            return
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        with self._cond:
            for name in sorted(set(names)):
                while not txn.wounded:
                    holder = self._owners.get(name)
                    if holder is None or holder is txn:
                        self._owners[name] = txn
                        txn.locks.add(name)
                        break
                    idle = time.monotonic() - holder.last_active > IDLE_SECONDS
                    if not holder.committing and (txn.seq < holder.seq or idle):
                        self._wound(holder)
                        continue
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise aborted(f"Transaction lock timeout on {name}: too much contention.")
                    self._cond.wait(min(remaining, 0.5))
            txn.last_active = time.monotonic()

    def record_reads(self, txn: Transaction, versions: dict[str, int]) -> None:
        with self._cond:
            for name, version in versions.items():
                txn.reads.setdefault(name, version)

    def start_commit(self, txn: Transaction) -> None:
        with self._cond:
            if txn.wounded:
                raise aborted("Transaction aborted: a concurrent transaction took its locks. Please retry.")
            txn.committing = True

    def finish(self, txn: Transaction) -> None:
        """Commit done (or failed) or rolled back: release the locks and forget the transaction."""
        with self._cond:
            self._finish_locked(txn)

    def _finish_locked(self, txn: Transaction) -> None:
        self._release(txn)
        self._live.pop(txn.id, None)
        self._finished_seq[txn.id] = txn.seq
        while len(self._finished_seq) > 10_000:
            self._finished_seq.popitem(last=False)

    def _wound(self, txn: Transaction) -> None:
        txn.wounded = True
        self._release(txn)

    def _release(self, txn: Transaction) -> None:
        for name in txn.locks:
            if self._owners.get(name) is txn:
                del self._owners[name]
        txn.locks.clear()
        self._cond.notify_all()

    def _expire_idle(self) -> None:
        now = time.monotonic()
        for txn in [t for t in self._live.values() if now - t.last_active > EXPIRY_SECONDS]:
            self._finish_locked(txn)
