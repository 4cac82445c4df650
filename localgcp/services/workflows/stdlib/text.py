"""Standard library, part two: ``text.*``, ``json.*`` and ``base64.*``."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from localgcp.services.workflows import errors
from localgcp.services.workflows.lang.expressions import type_name
from localgcp.services.workflows.stdlib.core import Host, _expect, _text, function


# --- text ---------------------------------------------------------------------------------------
@function("text.split")
def _split(host: Host, source: Any, separator: Any) -> list[str]:
    return _text(source, "text.split").split(_text(separator, "text.split"))


@function("text.substring")
def _substring(host: Host, source: Any, start: Any, end: Any) -> str:
    text = _text(source, "text.substring")
    return text[max(0, int(start)) : max(0, int(end))]


@function("text.find_all")
def _find_all(host: Host, source: Any, substr: Any) -> list[dict[str, Any]]:
    text, needle = _text(source, "text.find_all"), _text(substr, "text.find_all")
    return [{"index": m.start(), "match": needle} for m in re.finditer(re.escape(needle), text)]


@function("text.find_all_regex")
def _find_all_regex(host: Host, source: Any, regex: Any) -> list[dict[str, Any]]:
    pattern = re.compile(_text(regex, "text.find_all_regex"))
    return [{"index": m.start(), "match": m.group(0)} for m in pattern.finditer(_text(source, "text"))]


@function("text.replace_all")
def _replace_all(host: Host, source: Any, substr: Any, repl: Any) -> str:
    return _text(source, "text.replace_all").replace(_text(substr, "text"), _text(repl, "text"))


@function("text.replace_all_regex")
def _replace_all_regex(host: Host, source: Any, regex: Any, repl: Any) -> str:
    template = re.sub(r"\\(\d)", r"\\g<\1>", _text(repl, "text"))
    return re.sub(_text(regex, "text"), template, _text(source, "text.replace_all_regex"))


@function("text.match_regex")
def _match_regex(host: Host, source: Any, regex: Any) -> bool:
    return re.search(_text(regex, "text.match_regex"), _text(source, "text.match_regex")) is not None


@function("text.to_lower")
def _to_lower(host: Host, source: Any) -> str:
    return _text(source, "text.to_lower").lower()


@function("text.to_upper")
def _to_upper(host: Host, source: Any) -> str:
    return _text(source, "text.to_upper").upper()


@function("text.encode")
def _text_encode(host: Host, text: Any, charset: str = "UTF-8") -> bytes:
    return _text(text, "text.encode").encode(charset)


@function("text.decode")
def _text_decode(host: Host, data: Any, charset: str = "UTF-8") -> str:
    _expect(data, "bytes", "text.decode")
    try:
        return bytes(data).decode(charset)
    except UnicodeDecodeError as exc:
        raise errors.value_error(f"text.decode: {exc}") from None


# --- json / base64 ------------------------------------------------------------------------------
def _json_text(data: Any, indent: Any = None) -> str:
    def reject(value: Any) -> Any:
        raise errors.type_error(f"json.encode: cannot encode {type_name(value)}")

    spaces = indent.get("spaces", 2) if isinstance(indent, dict) else (2 if indent is True else None)
    separators = None if spaces else (",", ":")
    return json.dumps(data, indent=spaces, separators=separators, default=reject, ensure_ascii=False)


@function("json.encode")
def _json_encode(host: Host, data: Any, indent: Any = None) -> bytes:
    return _json_text(data, indent).encode()


@function("json.encode_to_string")
def _json_encode_to_string(host: Host, data: Any, indent: Any = None) -> str:
    return _json_text(data, indent)


@function("json.decode")
def _json_decode(host: Host, data: Any) -> Any:
    if not isinstance(data, str | bytes):
        raise errors.type_error(f"json.decode: expected bytes or string, got {type_name(data)}")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.value_error(f"json.decode: {exc}") from None


@function("base64.encode")
def _b64_encode(host: Host, data: Any, padding: bool = True) -> str:
    _expect(data, "bytes", "base64.encode")
    text = base64.b64encode(data).decode()
    return text if padding else text.rstrip("=")


@function("base64.decode")
def _b64_decode(host: Host, data: Any, padding: bool = True) -> bytes:
    text = _text(data, "base64.decode")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError as exc:
        raise errors.value_error(f"base64.decode: {exc}") from None
