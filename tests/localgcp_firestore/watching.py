"""Waiting for ``on_snapshot`` callbacks in tests (the client calls them on its own thread)."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

WAIT = 15.0


class Snapshots:
    """Collects ``on_snapshot`` callbacks; :meth:`until` waits for one that satisfies a check."""

    def __init__(self) -> None:
        self.calls: queue.Queue = queue.Queue()

    def __call__(self, docs: list, changes: list, read_time: Any) -> None:
        self.calls.put((docs, changes, read_time))

    def until(self, check: Callable[[list, list], bool], timeout: float = WAIT) -> tuple[list, list]:
        deadline = time.monotonic() + timeout
        seen: list[tuple[list[str], list[tuple[str, str]]]] = []
        while True:
            try:
                docs, changes, _ = self.calls.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no snapshot satisfied the check; saw {seen}") from None
            seen.append(([d.id for d in docs], [(c.type.name, c.document.id) for c in changes]))
            if check(docs, changes):
                return docs, changes


def data_of(docs: list) -> dict[str, Any]:
    return {d.id: d.to_dict() for d in docs}
