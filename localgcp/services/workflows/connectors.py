"""``call: googleapis.<service>.<version>.<resource path>.<method>`` dispatched to local providers.

A provider is ``fn(args: dict) -> response``. Providers of methods whose real API answers with
a long-running Operation register with ``long_running=True`` and return the Operation map
(``name``, ``done``, ``response``/``error``); the runner then polls it through the
``operations_get`` registered for that API, as the real connectors do, honouring
``connector_params: {timeout, polling_policy: {initial_delay, multiplier, max_delay}, skip_polling}``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localgcp.services.workflows import errors

Provider = Callable[[dict[str, Any]], Any]
OperationGetter = Callable[[str], dict[str, Any]]

DEFAULT_TIMEOUT_S = 1800.0
DEFAULT_POLLING = {"initial_delay": 1.0, "multiplier": 1.25, "max_delay": 60.0}


@dataclass(frozen=True)
class _Entry:
    provider: Provider
    long_running: bool


class ConnectorRegistry:
    """Local providers of connector methods, by their full ``googleapis.*`` call name."""

    def __init__(self) -> None:
        self._methods: dict[str, _Entry] = {}
        self._operations: dict[str, OperationGetter] = {}
        self._lock = threading.Lock()

    def register(self, name: str, provider: Provider, *, long_running: bool = False) -> None:
        if not name.startswith("googleapis."):
            raise ValueError(f"connector names start with 'googleapis.', got {name!r}")
        with self._lock:
            self._methods[name] = _Entry(provider, long_running)

    def register_operations(self, api_prefix: str, getter: OperationGetter) -> None:
        """How to fetch an Operation by name for every method under ``api_prefix``
        (e.g. ``googleapis.aiplatform.v1``)."""
        with self._lock:
            self._operations[api_prefix] = getter

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._methods)

    def has(self, name: str) -> bool:
        with self._lock:
            return name in self._methods

    def _getter(self, name: str) -> OperationGetter | None:
        with self._lock:
            prefixes = [p for p in self._operations if name == p or name.startswith(p + ".")]
            return self._operations[max(prefixes, key=len)] if prefixes else None

    def invoke(self, name: str, args: dict[str, Any], sleep: Callable[[float], None]) -> Any:
        """Run connector ``name`` with its ``args`` (``connector_params`` included)."""
        with self._lock:
            entry = self._methods.get(name)
        if entry is None:
            raise errors.make("UnimplementedError", f"connector {name} has no local provider")
        params = dict(args.get("connector_params") or {})
        call_args = {k: v for k, v in args.items() if k != "connector_params"}
        timeout = float(params.get("timeout", DEFAULT_TIMEOUT_S))
        result = _run_provider(name, entry.provider, call_args)
        if not entry.long_running or params.get("skip_polling"):
            return result
        return self._await_operation(name, result, params, timeout, sleep)

    def _await_operation(
        self,
        name: str,
        operation: Any,
        params: dict[str, Any],
        timeout: float,
        sleep: Callable[[float], None],
    ) -> Any:
        policy = {**DEFAULT_POLLING, **(params.get("polling_policy") or {})}
        delay = float(policy["initial_delay"])
        getter = self._getter(name)
        waited = 0.0  # in workflow seconds, so a scaled clock times out as the service would
        while True:
            if not isinstance(operation, dict) or "name" not in operation:
                raise errors.make("ResponseTypeError", f"{name} did not return an Operation: {operation!r}")
            if operation.get("done"):
                if operation.get("error"):
                    raise errors.make(
                        "OperationError",
                        f"operation {operation['name']} failed: {operation['error'].get('message', '')}",
                        operation=operation,
                    )
                return operation.get("response")
            if getter is None:
                raise errors.make("UnimplementedError", f"no local operations.get for {name}")
            if waited + delay > timeout:
                raise errors.make("TimeoutError", f"operation {operation['name']} not done after {timeout}s")
            sleep(delay)
            waited += delay
            delay = min(delay * float(policy["multiplier"]), float(policy["max_delay"]))
            operation = _poll(name, getter, str(operation["name"]))


def _poll(name: str, getter: OperationGetter, operation_name: str) -> Any:
    return _run_provider(name, lambda _args: getter(operation_name), {})


def _run_provider(name: str, provider: Provider, args: dict[str, Any]) -> Any:
    try:
        return provider(args)
    except errors.WorkflowError:
        raise
    except Exception as exc:  # a provider bug or failure surfaces as the API's 500
        raise errors.http_error(500, {"error": {"code": 500, "message": f"{name}: {exc}"}}) from exc
