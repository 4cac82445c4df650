"""Gap 7 of issue 16: the standard-library functions and environment the local runner lacked,
checked against the examples of their reference pages."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest

from localgcp.services.workflows import ConnectorRegistry, WorkflowError
from tests.localgcp_workflows.helpers import execute


def value(expression: str, **options: Any) -> Any:
    return execute(f"- out:\n    return: '${{{expression}}}'\n", **options)


def error_tags(expression: str) -> list[str]:
    with pytest.raises(WorkflowError) as caught:
        value(expression)
    return caught.value.tags


# --- sys.get_env("GOOGLE_CLOUD_PROJECT_NUMBER") ---------------------------------------------------
def test_project_number_is_deterministic_and_overridable() -> None:
    from localgcp.services.workflows.lang.runtime import project_number

    env = {"GOOGLE_CLOUD_PROJECT_ID": "rillflow-local"}
    number = value('sys.get_env("GOOGLE_CLOUD_PROJECT_NUMBER")', env=env)
    assert number == project_number("rillflow-local")
    assert number.isdigit() and len(number) == 12
    assert project_number("other-project") != number
    # the service context's number (the harness fills it from RILLFLOW_PROJECT_NUMBER) wins
    assert project_number("rillflow-local", "123456789012") == "123456789012"
    env["GOOGLE_CLOUD_PROJECT_NUMBER"] = "123456789012"
    assert value('sys.get_env("GOOGLE_CLOUD_PROJECT_NUMBER")', env=env) == "123456789012"


# --- text.url_* ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "expression, expected",
    [
        ('text.url_encode("a/b/c?item=d+e f")', "a%2Fb%2Fc%3Fitem%3Dd%2Be%20f"),
        ('text.url_encode_plus("a/b/c?item=d+e f")', "a%2Fb%2Fc%3Fitem%3Dd%2Be+f"),
        ('text.url_decode("a%2Fb%2Fc%3Fitem%3Dd%2Be")', "a/b/c?item=d+e"),
        ('text.url_decode("d+e%20f")', "d e f"),
        ('text.url_encode("Aa0.-_~é")', "Aa0.-_%7E%C3%A9"),
        ('text.url_decode(text.url_encode_plus("x y/é"))', "x y/é"),
    ],
)
def test_url_functions(expression: str, expected: str) -> None:
    assert value(expression) == expected


def test_url_function_errors() -> None:
    assert error_tags('text.url_decode("100%")') == ["ValueError"]
    assert error_tags('text.url_decode("%zz")') == ["ValueError"]
    assert error_tags("text.url_encode(1)") == ["TypeError"]


# --- hash.* ---------------------------------------------------------------------------------------
def test_hash_examples_from_the_reference() -> None:
    checksum = value('base64.encode(hash.compute_checksum(text.encode("Hello World", "UTF-8"), "SHA256"))')
    assert checksum == "pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4="
    mac = value(
        'base64.encode(hash.compute_hmac(text.encode("key", "UTF-8"), text.encode("Hello World", "UTF-8"), "SHA256"))'
    )
    assert mac == "QidPcoCDkuWLV9co1+PA5RY+rwfRZdwDEF9iq74afRE="


@pytest.mark.parametrize(
    "algorithm, size",
    [("MD5", 16), ("SHA1", 20), ("SHA224", 28), ("SHA256", 32), ("SHA384", 48), ("SHA512", 64)],
)
def test_every_documented_algorithm(algorithm: str, size: int) -> None:
    digest = value(f'base64.encode(hash.compute_checksum(text.encode("x"), "{algorithm}"))')
    assert len(base64.b64decode(digest)) == size
    mac = value(f'base64.encode(hash.compute_hmac(text.encode("k"), text.encode("x"), "{algorithm}"))')
    assert len(base64.b64decode(mac)) == size


def test_hash_errors() -> None:
    assert error_tags('hash.compute_checksum(text.encode("x"), "SHA3")') == ["ValueError"]
    assert error_tags('hash.compute_checksum("not bytes", "MD5")') == ["TypeError"]
    assert error_tags('hash.compute_hmac(text.encode("k"), text.encode("x"), 256)') == ["TypeError"]


# --- if() ---------------------------------------------------------------------------------------
def test_if_helper() -> None:
    assert value('[if(1 < 2, "yes", "no"), if(false, 1, 2)]') == ["yes", 2]
    assert error_tags("if(1, 2, 3)") == ["TypeError"]


# --- sys.sleep_until ------------------------------------------------------------------------------
def test_sleep_until_waits_for_the_time() -> None:
    target = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 2)) + "Z"
    started = time.monotonic()
    program = f"""
    - wait:
        call: sys.sleep_until
        args:
          time: "{target}"
    - done:
        return: ok
    """
    assert execute(program, time_scale=0.25) == "ok"
    assert time.monotonic() - started >= 0.2  # ~1-2 s of workflow time at a quarter speed
    assert execute(program.replace(target, "2020-01-01T00:00:00.123456789Z"), time_scale=1.0) == "ok"


@pytest.mark.parametrize(
    "time_arg, tag",
    [("12", "TypeError"), ('"not a time"', "ValueError"), ('"2999-01-01T00:00:00Z"', "ValueError")],
)
def test_sleep_until_errors(time_arg: str, tag: str) -> None:
    with pytest.raises(WorkflowError) as caught:
        execute(f"- wait:\n    call: sys.sleep_until\n    args:\n      time: {time_arg}\n")
    assert caught.value.tags == [tag]


# --- gke.* --------------------------------------------------------------------------------------
def test_gke_calls_fail_clearly_at_run_time() -> None:
    with pytest.raises(WorkflowError) as caught:
        execute("- k8s:\n    call: gke.request\n    args: {cluster_id: c, method: GET, path: /api}\n")
    assert caught.value.tags == ["UnimplementedError"]
    assert "gke.request is not available locally" in caught.value.payload["message"]


# --- connector calls inside expressions -----------------------------------------------------------
def test_connector_called_in_an_expression_binds_positional_arguments() -> None:
    seen: list[dict[str, Any]] = []

    def access_string(args: dict[str, Any]) -> str:
        seen.append(args)
        return f"secret:{args['secret_id']}@{args['version']}"

    registry = ConnectorRegistry()
    registry.register("googleapis.secretmanager.v1.projects.secrets.versions.accessString", access_string)
    registry.register("googleapis.bigquery.v2.tables.get", lambda args: args)
    result = execute(
        """
        - expression:
            assign:
              - s: ${googleapis.secretmanager.v1.projects.secrets.versions.accessString("api-key", "1", "p1")}
              - t: ${googleapis.bigquery.v2.tables.get("p1", "ds", "tbl")}
        - done:
            return: ${[s, t]}
        """,
        connectors=registry,
    )
    assert result == ["secret:api-key@1", {"projectId": "p1", "datasetId": "ds", "tableId": "tbl"}]
    assert seen == [{"secret_id": "api-key", "version": "1", "project_id": "p1"}]
    with pytest.raises(WorkflowError) as caught:
        execute(
            '- e:\n    return: ${googleapis.bigquery.v2.tables.get("p", "d", "t", "x")}\n',
            connectors=registry,
        )
    assert caught.value.tags == ["TypeError"]
