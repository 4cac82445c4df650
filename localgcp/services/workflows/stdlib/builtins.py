"""The expression helpers (``default``, ``keys``, ``len``, ``int``, ...) and the modules ``map``,
``list``, ``time``, ``sys``, ``uuid``, ``math`` and ``retry`` of the Workflows standard library."""

from __future__ import annotations

import math
import time as _time
import uuid
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from localgcp.services.workflows import errors
from localgcp.services.workflows.lang.expressions import is_number, type_name
from localgcp.services.workflows.stdlib.core import Host, _expect, _text, function

_SEVERITIES = {"DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"}


# --- helpers without a module ---------------------------------------------------------------
@function("default")
def _default(host: Host, val: Any, default_val: Any) -> Any:
    return default_val if val is None else val


@function("keys")
def _keys(host: Host, map: Any) -> list[str]:
    _expect(map, "map", "keys")
    return list(map.keys())


@function("len")
def _len(host: Host, value: Any) -> int:
    if not isinstance(value, list | dict | str | bytes):
        raise errors.type_error(f"len: expected list, map, string or bytes, got {type_name(value)}")
    return len(value)


@function("type")
@function("get_type")
def _type(host: Host, value: Any) -> str:
    return type_name(value)


@function("int")
def _int(host: Host, value: Any) -> int:
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise errors.value_error(f"int: cannot convert {value!r} to integer") from None
    if is_number(value):
        return int(value)
    raise errors.type_error(f"int: cannot convert {type_name(value)}")


@function("double")
def _double(host: Host, value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise errors.value_error(f"double: cannot convert {value!r} to double") from None
    if is_number(value):
        return float(value)
    raise errors.type_error(f"double: cannot convert {type_name(value)}")


@function("string")
def _string(host: Host, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if is_number(value):
        return repr(value)
    raise errors.type_error(f"string: cannot convert {type_name(value)}")


@function("bool")
def _bool(host: Host, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise errors.value_error(f"bool: cannot convert {value!r}")


# --- map / list ---------------------------------------------------------------------------------
@function("map.get")
def _map_get(host: Host, map: Any, keys: Any) -> Any:
    path = keys if isinstance(keys, list) else [keys]
    current = map
    for key in path:
        if not isinstance(current, dict) or key not in current:
            return None
        current = current[key]
    return current


@function("map.merge")
def _map_merge(host: Host, first: Any, second: Any) -> dict[str, Any]:
    _expect(first, "map", "map.merge")
    _expect(second, "map", "map.merge")
    return {**first, **second}


def _merge_nested(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    out = dict(first)
    for key, value in second.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge_nested(out[key], value)
        else:
            out[key] = value
    return out


@function("map.merge_nested")
def _map_merge_nested(host: Host, first: Any, second: Any) -> dict[str, Any]:
    _expect(first, "map", "map.merge_nested")
    _expect(second, "map", "map.merge_nested")
    return _merge_nested(first, second)


@function("map.delete")
def _map_delete(host: Host, map: Any, key: Any) -> dict[str, Any]:
    _expect(map, "map", "map.delete")
    return {k: v for k, v in map.items() if k != key}


@function("list.concat")
def _list_concat(host: Host, objs: Any, val: Any) -> list[Any]:
    _expect(objs, "list", "list.concat")
    return [*objs, val]


@function("list.prepend")
def _list_prepend(host: Host, objs: Any, val: Any) -> list[Any]:
    _expect(objs, "list", "list.prepend")
    return [val, *objs]


# --- time / sys / uuid / math -------------------------------------------------------------------
@function("time.format")
def _time_format(host: Host, seconds: Any, timezone: str = "UTC") -> str:
    if not is_number(seconds):
        raise errors.type_error(f"time.format: expected a number, got {type_name(seconds)}")
    try:
        zone = UTC if timezone.upper() == "UTC" else ZoneInfo(timezone)
    except (KeyError, ValueError):
        raise errors.value_error(f"time.format: unknown time zone {timezone!r}") from None
    moment = datetime.fromtimestamp(float(seconds), tz=zone)
    text = moment.isoformat(timespec="microseconds")
    return text.replace("+00:00", "Z") if zone is UTC else text


@function("time.parse")
def _time_parse(host: Host, value: Any) -> float:
    text = _text(value, "time.parse")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise errors.value_error(f"time.parse: not an RFC 3339 timestamp: {text!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@function("sys.now")
def _now(host: Host) -> float:
    return _time.time()


@function("sys.get_env")
def _get_env(host: Host, name: Any, default: Any = None) -> Any:
    return host.env.get(_text(name, "sys.get_env"), default)


@function("sys.log")
def _log(
    host: Host,
    data: Any = None,
    severity: str = "DEFAULT",
    text: Any = None,
    json: Any = None,
    timeout: Any = None,
) -> None:
    level = str(severity).upper()
    if level not in _SEVERITIES:
        raise errors.value_error(f"sys.log: unknown severity {severity!r}")
    payload = text if text is not None else json if json is not None else data
    host.log(level, payload)


@function("sys.sleep")
def _sleep(host: Host, seconds: Any) -> None:
    if not is_number(seconds) or seconds < 0:
        raise errors.value_error(f"sys.sleep: seconds must be a non-negative number, got {seconds!r}")
    host.sleep(float(seconds))


@function("uuid.generate")
def _uuid(host: Host) -> str:
    return str(uuid.uuid4())


@function("math.abs")
def _abs(host: Host, x: Any) -> Any:
    return abs(x)


@function("math.floor")
def _floor(host: Host, x: Any) -> int:
    return int(math.floor(x))


@function("math.max")
def _max(host: Host, x: Any, y: Any) -> Any:
    return max(x, y)


@function("math.min")
def _min(host: Host, x: Any, y: Any) -> Any:
    return min(x, y)


# --- retry predicates (the policies themselves live in runtime.retry) ---------------------------
_IDEMPOTENT_CODES = {429, 502, 503, 504}
_NON_IDEMPOTENT_CODES = {429, 503}
_TRANSPORT_TAGS = {"ConnectionError", "ConnectionFailedError", "TimeoutError"}


def _tags(error: Any) -> set[str]:
    return set(error.get("tags") or []) if isinstance(error, dict) else set()


@function("http.default_retry_predicate")
def retry_predicate(host: Host, exception: Any) -> bool:
    code = exception.get("code") if isinstance(exception, dict) else None
    return code in _IDEMPOTENT_CODES or bool(_tags(exception) & _TRANSPORT_TAGS)


@function("http.default_retry_predicate_non_idempotent")
def retry_predicate_non_idempotent(host: Host, exception: Any) -> bool:
    code = exception.get("code") if isinstance(exception, dict) else None
    return code in _NON_IDEMPOTENT_CODES or "ConnectionFailedError" in _tags(exception)


@function("retry.always")
def _always(host: Host, exception: Any) -> bool:
    return True


@function("retry.never")
def _never(host: Host, exception: Any) -> bool:
    return False
