"""Standard library, part three: the ``if`` helper, ``text.url_*``, ``hash.*``, ``sys.sleep_until``,
``events.*`` callbacks, ``experimental.executions.*`` and the ``gke.*`` connector (deployable,
not runnable here).

Behaviour follows the function reference pages of cloud.google.com/workflows/docs/reference/stdlib.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time as _time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from localgcp.services.workflows import errors
from localgcp.services.workflows.callbacks import METHODS
from localgcp.services.workflows.lang.expressions import is_number, type_name
from localgcp.services.workflows.stdlib.core import Host, _expect, _text, function

#: hash algorithms ``hash.compute_checksum`` / ``hash.compute_hmac`` accept (their reference pages)
HASH_ALGORITHMS = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA224": "sha224",
    "SHA256": "sha256",
    "SHA384": "sha384",
    "SHA512": "sha512",
}
DEFAULT_CALLBACK_TIMEOUT_S = 43200.0
DEFAULT_EXECUTIONS_TIMEOUT_S = 1800.0
_MAX_SLEEP_UNTIL_S = 366 * 24 * 3600.0  # "the latest allowed time is one year from now"
_URL_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
_HEX = "0123456789abcdefABCDEF"


# --- expression helper ------------------------------------------------------------------------
@function("if")
def _if(host: Host, condition: Any, if_true: Any, if_false: Any) -> Any:
    if not isinstance(condition, bool):
        raise errors.type_error(f"if: condition must be a boolean, got {type_name(condition)}")
    return if_true if condition else if_false


# --- text.url_* ---------------------------------------------------------------------------------
def _percent_encode(source: str, plus: bool) -> str:
    out: list[str] = []
    for byte in source.encode():
        if byte in _URL_SAFE:
            out.append(chr(byte))
        elif plus and byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


@function("text.url_encode")
def _url_encode(host: Host, source: Any) -> str:
    """Percent-encodes everything but letters, digits and ``.-_`` (spaces as ``%20``)."""
    return _percent_encode(_text(source, "text.url_encode"), plus=False)


@function("text.url_encode_plus")
def _url_encode_plus(host: Host, source: Any) -> str:
    """As ``text.url_encode``, with spaces as ``+``."""
    return _percent_encode(_text(source, "text.url_encode_plus"), plus=True)


@function("text.url_decode")
def _url_decode(host: Host, source: Any) -> str:
    """``+`` → space and ``%xx`` → byte, the bytes read as UTF-8; a ``%`` without two hex
    digits is a ValueError."""
    text = _text(source, "text.url_decode")
    out = bytearray()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%":
            pair = text[i + 1 : i + 3]
            if len(pair) != 2 or any(c not in _HEX for c in pair):
                raise errors.value_error(f"text.url_decode: '%' at {i} is not followed by two hex digits")
            out.append(int(pair, 16))
            i += 3
            continue
        out.extend(b" " if ch == "+" else ch.encode())
        i += 1
    try:
        return out.decode()
    except UnicodeDecodeError as exc:
        raise errors.value_error(f"text.url_decode: not UTF-8: {exc}") from None


# --- hash ---------------------------------------------------------------------------------------
def _algorithm(algorithm: Any, fn: str) -> str:
    if not isinstance(algorithm, str):
        raise errors.type_error(f"{fn}: algorithm must be a string, got {type_name(algorithm)}")
    name = HASH_ALGORITHMS.get(algorithm.upper().replace("-", ""))
    if name is None:
        raise errors.value_error(
            f"{fn}: unsupported algorithm {algorithm!r}; one of {', '.join(HASH_ALGORITHMS)}"
        )
    return name


@function("hash.compute_checksum")
def _checksum(host: Host, data: Any, algorithm: Any) -> bytes:
    _expect(data, "bytes", "hash.compute_checksum")
    return hashlib.new(_algorithm(algorithm, "hash.compute_checksum"), bytes(data)).digest()


@function("hash.compute_hmac")
def _hmac(host: Host, key: Any, data: Any, algorithm: Any) -> bytes:
    _expect(key, "bytes", "hash.compute_hmac")
    _expect(data, "bytes", "hash.compute_hmac")
    return hmac.new(bytes(key), bytes(data), _algorithm(algorithm, "hash.compute_hmac")).digest()


# --- sys.sleep_until ----------------------------------------------------------------------------
def _timestamp(value: str, fn: str) -> float:
    text = value.strip().replace("z", "Z")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    head, dot, rest = text.partition(".")
    if dot:  # keep microseconds: the service's precision, and what fromisoformat reads
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[:digits][:6].ljust(6, '0')}{rest[digits:]}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise errors.value_error(f"{fn}: not an ISO 8601 timestamp: {value!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@function("sys.sleep_until")
def _sleep_until(host: Host, time: Any) -> None:
    """Suspends the execution until ``time`` (ISO 8601), at most a year ahead; a past time
    returns at once."""
    if not isinstance(time, str):
        raise errors.type_error(f"sys.sleep_until: time must be a string, got {type_name(time)}")
    wait = _timestamp(time, "sys.sleep_until") - _time.time()
    if wait > _MAX_SLEEP_UNTIL_S:
        raise errors.value_error(f"sys.sleep_until: {time} is more than a year from now")
    host.sleep(max(0.0, wait))


# --- events (callbacks) -------------------------------------------------------------------------
@function("events.create_callback_endpoint")
def _create_callback(host: Host, http_callback_method: Any = "POST") -> dict[str, str]:
    if not isinstance(http_callback_method, str):
        raise errors.type_error(
            f"events.create_callback_endpoint: http_callback_method must be a string, "
            f"got {type_name(http_callback_method)}"
        )
    if http_callback_method not in METHODS:
        raise errors.value_error(
            f"events.create_callback_endpoint: http_callback_method must be one of {', '.join(METHODS)}"
        )
    return {"url": host.callback_hub().create(host.resource_name, http_callback_method)}


def _seconds(value: Any, fn: str, name: str) -> float:
    if not is_number(value):
        raise errors.type_error(f"{fn}: {name} must be a number, got {type_name(value)}")
    if value < 0 or math.isnan(value):
        raise errors.value_error(f"{fn}: {name} must not be negative")
    return float(value)


@function("events.await_callback")
def _await_callback(host: Host, callback: Any, timeout: Any = DEFAULT_CALLBACK_TIMEOUT_S) -> dict[str, Any]:
    """The oldest request received at ``callback.url``; TimeoutError after ``timeout`` seconds."""
    fn = "events.await_callback"
    if not isinstance(callback, dict):
        raise errors.type_error(f"{fn}: callback must be a map with a url, got {type_name(callback)}")
    url = callback.get("url")
    if not isinstance(url, str):
        raise errors.value_error(f"{fn}: callback has no url")
    seconds = _seconds(timeout, fn, "timeout")
    hub = host.callback_hub()
    if not hub.knows(url):
        raise errors.value_error(f"{fn}: {url} is not a callback endpoint of this execution")
    try:
        request = hub.await_request(url, seconds * host.time_scale, host.cancel_event)
    except KeyError:
        raise errors.value_error(f"{fn}: the callback endpoint {url} is closed") from None
    if request is None:
        raise errors.make("TimeoutError", f"{fn}: no callback received at {url} within {seconds:g}s")
    return request


# --- experimental.executions --------------------------------------------------------------------
def _location_args(location: Any, project_id: Any, fn: str) -> tuple[str | None, str | None]:
    for name, value in (("location", location), ("project_id", project_id)):
        if value is not None and not isinstance(value, str):
            raise errors.type_error(f"{fn}: {name} must be a string, got {type_name(value)}")
    return project_id, location


@function("experimental.executions.run")
def _executions_run(
    host: Host,
    workflow_id: Any,
    argument: Any = None,
    timeout: Any = DEFAULT_EXECUTIONS_TIMEOUT_S,
    location: Any = None,
    project_id: Any = None,
) -> Any:
    """Starts an execution of ``workflow_id`` and waits for its result."""
    fn = "experimental.executions.run"
    workflow = _text(workflow_id, fn)
    project, region = _location_args(location, project_id, fn)
    return host.run_workflow(workflow, argument, _seconds(timeout, fn, "timeout"), project, region)


@function("experimental.executions.map")
def _executions_map(
    host: Host,
    workflow_id: Any,
    arguments: Any,
    timeout: Any = DEFAULT_EXECUTIONS_TIMEOUT_S,
    location: Any = None,
    project_id: Any = None,
) -> list[Any]:
    """Starts one execution of ``workflow_id`` per element of ``arguments``, waits for all, and
    returns their results in the order of ``arguments``."""
    fn = "experimental.executions.map"
    workflow = _text(workflow_id, fn)
    _expect(arguments, "list", fn)
    project, region = _location_args(location, project_id, fn)
    seconds = _seconds(timeout, fn, "timeout")
    if not arguments:
        return []
    with ThreadPoolExecutor(max_workers=len(arguments), thread_name_prefix="wf-map") as pool:
        futures = [
            pool.submit(host.run_workflow, workflow, argument, seconds, project, region)
            for argument in arguments
        ]
        outcomes: list[tuple[bool, Any]] = []
        for future in futures:
            try:
                outcomes.append((True, future.result()))
            except errors.WorkflowError as err:
                outcomes.append((False, err))
    failed = [err for ok, err in outcomes if not ok]
    if failed:
        raise failed[0]
    return [value for _, value in outcomes]


# --- gke: the Kubernetes API connector ----------------------------------------------------------
GKE_FUNCTIONS = ("gke.request", "gke.create_job", "gke.await_job", "gke.delete_job")


def _gke(name: str) -> None:
    def unavailable(host: Host, **args: Any) -> Any:
        raise errors.make(
            "UnimplementedError",
            f"{name} is not available locally: the Kubernetes API connector talks to a GKE "
            "cluster's control plane, and localgcp runs no GKE cluster",
        )

    function(name)(unavailable)


for _name in GKE_FUNCTIONS:
    _gke(_name)
