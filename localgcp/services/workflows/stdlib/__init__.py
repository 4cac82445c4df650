"""The Workflows standard library, and its registry.

Each module registers its functions with :func:`core.function` when imported: ``builtins``
(the expression helpers, ``map``, ``list``, ``time``, ``sys``, ``uuid``, ``math``, ``retry``),
``text`` (``text``, ``json``, ``base64``), ``more`` (``hash``, URL encoding, ``sys.sleep_until``,
``events``, ``experimental.executions``, ``gke``) and ``http``. This package imports every one
of them, so :data:`FUNCTIONS` here is the whole library.
"""

from __future__ import annotations

from localgcp.services.workflows.stdlib import builtins, http, more, text
from localgcp.services.workflows.stdlib.core import FUNCTIONS, Function, Host, call, function

__all__ = [
    "FUNCTIONS",
    "Function",
    "Host",
    "MODULES",
    "NAMESPACES",
    "POLICY_REFS",
    "call",
    "function",
]

#: the modules that register functions, in import order
MODULES = (builtins, text, more, http)

NAMESPACES = {name.rsplit(".", 1)[0] for name in FUNCTIONS if "." in name} | {"googleapis", "http", "retry"}
POLICY_REFS = {"http.default_retry", "http.default_retry_non_idempotent", "retry.default_backoff"}
