"""The registry every standard-library module registers into, and the argument helpers they share.

Every function takes the running execution (``Host``) first, then the documented arguments by
their documented names, so both ``${text.split(s, ",")}`` and ``call: text.split`` with
``args: {source: ..., separator: ...}`` work. The ``stdlib`` package imports every module that registers.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from localgcp.services.workflows import errors
from localgcp.services.workflows.lang.expressions import type_name

if TYPE_CHECKING:
    from localgcp.services.workflows.callbacks import CallbackHub


class Host(Protocol):
    """The execution a library call runs in."""

    env: dict[str, str]
    time_scale: float
    cancel_event: threading.Event

    @property
    def resource_name(self) -> str:
        """``projects/P/locations/L/workflows/W/executions/E`` of the running execution."""
        ...

    def log(self, severity: str, payload: Any) -> None: ...

    def sleep(self, seconds: float) -> None: ...

    def run_workflow(
        self, workflow_id: str, argument: Any, timeout: float, project: str | None, location: str | None
    ) -> Any: ...

    def callback_hub(self) -> CallbackHub: ...


Function = Callable[..., Any]
FUNCTIONS: dict[str, Function] = {}


def function(name: str) -> Callable[[Function], Function]:
    def register(fn: Function) -> Function:
        FUNCTIONS[name] = fn
        return fn

    return register


def call(host: Host, name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None) -> Any:
    """Call library function ``name`` positionally or with named arguments (``call:`` steps)."""
    fn = FUNCTIONS[name]
    try:
        bound = inspect.signature(fn).bind(host, *(args or []), **(kwargs or {}))
    except TypeError as exc:
        raise errors.type_error(f"{name}: {exc}") from None
    try:
        return fn(*bound.args, **bound.kwargs)
    except errors.WorkflowError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError) as exc:
        tag = "ValueError" if isinstance(exc, OverflowError) else type(exc).__name__
        raise errors.make(tag, f"{name}: {exc}") from None


def _expect(value: Any, kind: str, fn: str) -> None:
    if type_name(value) != kind:
        raise errors.type_error(f"{fn}: expected {kind}, got {type_name(value)}")


def _text(value: Any, fn: str) -> str:
    _expect(value, "string", fn)
    return str(value)
