"""``http.get/post/put/patch/delete/request`` over ``requests``, with the service's result shape
``{code, headers, body}`` and its errors (HttpError, ConnectionFailedError, ConnectionError,
TimeoutError).

``auth: {type: OIDC}`` sends an ID token for ``auth.audience`` (default: the URL) as the
workflow's service account (:data:`SERVICE_ACCOUNT_ENV`), minted by the stack's issuer
(:mod:`localgcp.services.functions.oidc`), which the local functions' fronts check as Cloud Run
does. ``OAuth2`` (and OIDC without a stack issuer) sends a placeholder bearer header that marks
the call as authenticated for local services that look for one.

:data:`COPIES_ENV` > 1 sends every call that many times and answers with the last (a drill's
fault: a step whose answer was lost and that ran again, as a retried step does in the cloud);
the earlier copies' answers and errors are dropped.
"""

from __future__ import annotations

import json
import os
from contextlib import suppress
from typing import Any

import requests

from localgcp.services.functions.oidc import Issuer
from localgcp.services.workflows import errors
from localgcp.services.workflows.lang.expressions import type_name
from localgcp.services.workflows.stdlib.core import Host, function

DEFAULT_TIMEOUT_S = 300.0
MAX_TIMEOUT_S = 1800.0
_AUTH_TYPES = {"OIDC", "OAUTH2"}
#: the service account the local Workflows service runs workflows as (their OIDC tokens name it)
SERVICE_ACCOUNT_ENV = "LOCALGCP_WORKFLOWS_SERVICE_ACCOUNT"
#: how many times each http call is sent (drills: 2); the last answer is the step's
COPIES_ENV = "LOCALGCP_WORKFLOWS_HTTP_COPIES"


def _encode_body(body: Any, headers: dict[str, str]) -> bytes | None:
    if body is None:
        return None
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if isinstance(body, bytes):
        return body
    if isinstance(body, str) and content_type and "json" not in content_type.lower():
        return body.encode()
    if content_type is None:
        headers["Content-Type"] = "application/json"
    return json.dumps(body, separators=(",", ":")).encode()


def _decode_body(response: requests.Response) -> Any:
    content_type = response.headers.get("Content-Type", "").lower()
    if not response.content:
        return None
    if "json" in content_type:
        try:
            return response.json()
        except ValueError:
            return response.text
    if content_type.startswith("text/") or "charset" in content_type:
        return response.text
    return response.content


def _auth_header(auth: Any, url: str) -> str:
    if not isinstance(auth, dict) or str(auth.get("type", "")).upper() not in _AUTH_TYPES:
        raise errors.value_error(f"auth.type must be OIDC or OAuth2, got {auth!r}")
    issuer, email = Issuer.from_env(), os.environ.get(SERVICE_ACCOUNT_ENV, "")
    if str(auth["type"]).upper() == "OIDC" and issuer is not None and email:
        return f"Bearer {issuer.mint(str(auth.get('audience') or url), email)}"
    return f"Bearer local-{str(auth['type']).lower()}-token"


def request(
    host: Host,
    method: str,
    url: Any,
    timeout: Any = None,
    body: Any = None,
    headers: Any = None,
    query: Any = None,
    auth: Any = None,
    private_service_name: Any = None,
) -> dict[str, Any]:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise errors.value_error(f"http: url must be an http(s) URL, got {url!r}")
    if headers is not None and not isinstance(headers, dict):
        raise errors.type_error(f"http: headers must be a map, got {type_name(headers)}")
    send_headers = {str(k): str(v) for k, v in (headers or {}).items()}
    if auth is not None:
        send_headers.setdefault("Authorization", _auth_header(auth, url))
    seconds = min(float(timeout), MAX_TIMEOUT_S) if timeout is not None else DEFAULT_TIMEOUT_S
    data = _encode_body(body, send_headers)
    params = {k: (v if isinstance(v, list) else str(v)) for k, v in (query or {}).items()}
    for _ in range(int(os.environ.get(COPIES_ENV) or 1) - 1):
        with suppress(requests.RequestException):  # a copy whose answer is lost: its effects remain
            requests.request(
                method.upper(), url, params=params, data=data, headers=send_headers, timeout=seconds
            )
    try:
        response = requests.request(
            method.upper(), url, params=params, data=data, headers=send_headers, timeout=seconds
        )
    except requests.Timeout as exc:
        raise errors.make("TimeoutError", f"http request timed out: {exc}") from None
    except requests.exceptions.ConnectionError as exc:
        failed = "Connection refused" in str(exc) or "NewConnectionError" in str(exc)
        tag = "ConnectionFailedError" if failed else "ConnectionError"
        raise errors.make(tag, f"http request failed: {exc}") from None
    result = {"code": response.status_code, "headers": dict(response.headers), "body": _decode_body(response)}
    if not 200 <= response.status_code < 300:
        raise errors.http_error(response.status_code, result["body"], result["headers"])
    return result


@function("http.request")
def _request(host: Host, method: Any, url: Any, timeout: Any = None, body: Any = None, headers: Any = None,
             query: Any = None, auth: Any = None, private_service_name: Any = None) -> dict[str, Any]:  # fmt: skip
    if not isinstance(method, str):
        raise errors.type_error("http.request: method must be a string")
    return request(host, method, url, timeout, body, headers, query, auth, private_service_name)


def _verb(method: str) -> None:
    def call(host: Host, url: Any, timeout: Any = None, body: Any = None, headers: Any = None, query: Any = None,
             auth: Any = None, private_service_name: Any = None) -> dict[str, Any]:  # fmt: skip
        return request(host, method, url, timeout, body, headers, query, auth, private_service_name)

    function(f"http.{method.lower()}")(call)


for _method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
    _verb(_method)
