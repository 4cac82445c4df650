"""The ``bigquery`` service wrapper: start (offline), readiness, restart on the same port and
state, stop; the short call policies; a clear error without the tool venv."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from google.api_core.exceptions import InternalServerError, RetryError
from google.cloud import bigquery

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.bigquery import (
    EMULATOR_RETRY,
    BigQueryService,
    BigQueryServiceError,
    tool_python,
)
from localgcp.services.bigquery.provider import PYTHON_ENV
from tests.support.bigquery import PROJECT

pytestmark = pytest.mark.parity


def test_without_the_tool_venv_start_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PYTHON_ENV, str(tmp_path / "missing" / "python"))
    service = BigQueryService(ServiceContext("127.0.0.1", 0, tmp_path, PROJECT, NullSink()))
    with pytest.raises(BigQueryServiceError, match="make tools-bqemulator"):
        service.start()
    service.stop()  # idempotent, nothing to stop


def test_restart_keeps_the_port_and_the_data(tmp_path: Path) -> None:
    try:
        tool_python()
    except BigQueryServiceError as exc:
        pytest.skip(str(exc))
    service = BigQueryService(ServiceContext("127.0.0.1", 0, tmp_path / "bq", PROJECT, NullSink()))
    service.start()
    try:
        address = service.address
        assert address.startswith("127.0.0.1:") and not address.endswith(":0")
        client = service.client()
        client.create_dataset("kept", retry=EMULATOR_RETRY)
        client.query("CREATE TABLE kept.t AS SELECT 42 AS answer").result(retry=EMULATOR_RETRY)
        process = service._process
        service.stop()
        assert process is not None and process.poll() is not None, "stop ends the emulator process"
        service.start()
        assert service.address == address
        rows = service.client().query("SELECT answer FROM kept.t").result(retry=EMULATOR_RETRY)
        assert [r["answer"] for r in rows] == [42]
    finally:
        service.stop()


def test_an_emulator_500_fails_within_the_short_retry_deadline(
    bq_client: bigquery.Client, new_dataset: Callable[[str], str]
) -> None:
    """A dict in a JSON column makes bqemulator answer 500; the library's default retry would
    retry that for 10 minutes."""
    dataset = new_dataset("json")
    table = bigquery.Table(
        f"{PROJECT}.{dataset}.docs",
        schema=[bigquery.SchemaField("id", "INT64"), bigquery.SchemaField("doc", "JSON")],
    )
    bq_client.create_table(table, retry=EMULATOR_RETRY)
    started = time.monotonic()
    with pytest.raises(RetryError) as failure:
        bq_client.insert_rows_json(table, [{"id": 1, "doc": {"a": 1}}], retry=EMULATOR_RETRY)
    assert isinstance(failure.value.cause, InternalServerError)
    assert time.monotonic() - started < 15
    # the documented way round it: JSON as a string
    assert bq_client.insert_rows_json(table, [{"id": 2, "doc": '{"a": 1}'}], retry=EMULATOR_RETRY) == []
