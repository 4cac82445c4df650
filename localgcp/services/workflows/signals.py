"""Control flow inside the interpreter (never visible to workflows: ``try`` does not catch them)."""

from __future__ import annotations

from typing import Any


class Signal(Exception):
    pass


class Jump(Signal):
    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


class Break(Signal):
    pass


class Continue(Signal):
    pass


class End(Signal):
    pass


class Return(Signal):
    def __init__(self, value: Any) -> None:
        super().__init__("return")
        self.value = value


class Cancelled(Signal):
    """The execution was cancelled (CancelExecution)."""
