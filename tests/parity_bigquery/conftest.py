"""The BigQuery parity tier: the cloud code paths through the official client against bqemulator.

One emulator per session (it takes ~5 s to start); every test works in datasets of its own.
The tier is skipped, with the reason, where the emulator's tool venv is not installed
(``make tools-bqemulator``; ``make test`` installs it first).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from google.cloud import bigquery

from localgcp.events import NullSink
from localgcp.services.base import ServiceContext
from localgcp.services.bigquery import (
    EMULATOR_JOB_RETRY,
    EMULATOR_RETRY,
    BigQueryService,
    BigQueryServiceError,
    tool_python,
)
from rillflow.settings import LOOPBACK
from rillflow.warehouse import BigQueryWarehouse
from tests.support.bigquery import LOCATION, PROJECT


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigQueryService]:
    try:
        tool_python()
    except BigQueryServiceError as exc:
        pytest.skip(str(exc))
    ctx = ServiceContext(LOOPBACK, 0, tmp_path_factory.mktemp("bqemulator"), PROJECT, NullSink())
    service = BigQueryService(ctx)
    service.start()
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def bq_client(bigquery_emulator: BigQueryService) -> bigquery.Client:
    return bigquery_emulator.client(PROJECT)


@pytest.fixture
def bq_warehouse(bq_client: bigquery.Client) -> BigQueryWarehouse:
    """The cloud warehouse class, given a client for the emulator and the emulator's call policies."""
    return BigQueryWarehouse(
        PROJECT, client=bq_client, retry=EMULATOR_RETRY, job_retry=EMULATOR_JOB_RETRY, read_api=False
    )


@pytest.fixture
def new_dataset(bq_client: bigquery.Client) -> Callable[[str], str]:
    """Creates a dataset with a unique name (``<prefix>_<hex>``) and returns its id."""

    def _new(prefix: str) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        dataset = bigquery.Dataset(f"{PROJECT}.{name}")
        dataset.location = LOCATION
        bq_client.create_dataset(dataset, retry=EMULATOR_RETRY)
        return name

    return _new
