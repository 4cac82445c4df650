"""``BigQueryWarehouse`` against a recording stand-in client: what it asks BigQuery to do.

The same class runs against the BigQuery emulator in ``tests/parity_bigquery``; these tests need
no emulator and pin the call shapes: one expiring staging table per merge, always deleted, the
injected client and call policies used for every call.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pyarrow as pa
import pytest
from google.api_core.exceptions import BadRequest, NotFound
from google.cloud import bigquery

from rillflow import warehouse as wh_module
from rillflow.warehouse import STAGING_TTL, BigQueryWarehouse, bigquery_schema, merge_statement

RETRY, JOB_RETRY = object(), object()


class _Job:
    def __init__(self, fail: Exception | None = None, rows: pa.Table | None = None) -> None:
        self.fail, self.rows, self.output_rows = fail, rows, 0
        self.result_kwargs: dict[str, Any] = {}

    def result(self, **kwargs: Any) -> _Job:
        self.result_kwargs = kwargs
        if self.fail:
            raise self.fail
        return self

    def to_arrow(self, create_bqstorage_client: bool = True) -> pa.Table:
        self.read_api = create_bqstorage_client
        return self.rows if self.rows is not None else pa.table({"x": [1]})


class FakeClient:
    project = "p"

    def __init__(self, existing: list[Any] | None = None, fail_query: bool = False, fail_load: bool = False):
        self.existing = existing
        self.fail_query, self.fail_load = fail_query, fail_load
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []
        self.created: list[bigquery.Table] = []
        self.jobs: list[_Job] = []
        self._lock = threading.Lock()

    def _record(self, name: str, arg: Any, kwargs: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append((name, arg, kwargs))

    def get_table(self, table_id: str, **kwargs: Any) -> bigquery.Table:
        self._record("get_table", table_id, kwargs)
        if self.existing is None:
            raise NotFound("no table")
        return bigquery.Table(table_id, schema=self.existing)

    def create_table(self, table: bigquery.Table, **kwargs: Any) -> bigquery.Table:
        self._record("create_table", table.table_id, kwargs)
        with self._lock:
            self.created.append(table)
        return table

    def delete_table(self, table_id: str, **kwargs: Any) -> None:
        self._record("delete_table", table_id, kwargs)

    def load_table_from_file(self, buffer: Any, table_id: str, **kwargs: Any) -> _Job:
        self._record("load", table_id, kwargs)
        job = _Job(BadRequest("bad load") if self.fail_load else None)
        self.jobs.append(job)
        return job

    def query(self, sql: str, **kwargs: Any) -> _Job:
        self._record("query", sql, kwargs)
        job = _Job(BadRequest("bad merge") if self.fail_query and sql.startswith("MERGE") else None)
        self.jobs.append(job)
        return job


def _data() -> pa.Table:
    return pa.table({"k": pa.array([1, 2], pa.int64()), "v": ["a", "b"]})


def _warehouse(client: FakeClient) -> BigQueryWarehouse:
    return BigQueryWarehouse("p", "EU", client=client, retry=RETRY, job_retry=JOB_RETRY, read_api=False)


def test_default_client_is_the_cloud_one(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[dict[str, Any]] = []

    def client(**kwargs: Any) -> FakeClient:
        made.append(kwargs)
        return FakeClient()

    monkeypatch.setattr(bigquery, "Client", client)
    warehouse = BigQueryWarehouse("proj", "EU")
    assert made == [{"project": "proj", "location": "EU"}]
    assert warehouse.read_api and warehouse.project == "proj"
    with pytest.raises(ValueError, match="project or a client"):
        BigQueryWarehouse()


def test_each_merge_stages_in_its_own_expiring_table_and_deletes_it() -> None:
    client = FakeClient(existing=bigquery_schema(_data().schema))
    warehouse = _warehouse(client)
    before = dt.datetime.now(dt.UTC)
    threads = [
        threading.Thread(target=warehouse.write, args=("ds", "t", _data(), "merge", ["k"])) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    staging = [t for t in client.created if "__staging_" in t.table_id]
    assert len({t.table_id for t in staging}) == 4, "no two merges share a staging table"
    assert all(t.table_id.startswith("t__staging_") for t in staging)
    slack = dt.timedelta(seconds=1)  # the table keeps its expiry in milliseconds
    after = dt.datetime.now(dt.UTC)
    assert all(before + STAGING_TTL - slack <= t.expires <= after + STAGING_TTL for t in staging)
    deleted = {arg.rsplit(".", 1)[-1] for name, arg, _ in client.calls if name == "delete_table"}
    assert deleted == {t.table_id for t in staging}
    merges = [arg for name, arg, _ in client.calls if name == "query"]
    assert len(merges) == 4 and all(m.startswith("MERGE `p.ds.t` t") for m in merges)


@pytest.mark.parametrize("failure", ["fail_load", "fail_query"])
def test_a_failed_merge_still_deletes_its_staging_table(failure: str) -> None:
    client = FakeClient(existing=bigquery_schema(_data().schema), **{failure: True})
    with pytest.raises(BadRequest):
        _warehouse(client).write("ds", "t", _data(), mode="merge", key=["k"])
    (staging,) = [t.table_id for t in client.created if "__staging_" in t.table_id]
    assert client.calls[-1][0] == "delete_table" and client.calls[-1][1].endswith(staging)


def test_merge_into_a_missing_table_creates_it_first() -> None:
    client = FakeClient(existing=None)
    _warehouse(client).write("ds", "t", _data(), mode="merge", key=["k"])
    assert [t.table_id for t in client.created][0] == "t"


def test_injected_call_policies_reach_every_call() -> None:
    client = FakeClient(existing=bigquery_schema(_data().schema))
    warehouse = _warehouse(client)
    warehouse.write("ds", "t", _data(), mode="merge", key=["k"])
    warehouse.write("ds", "t", _data())
    warehouse.write("ds", "t", _data(), mode="replace")
    assert warehouse.query("SELECT 1").num_rows == 1
    for name, _, kwargs in client.calls:
        if name in ("get_table", "create_table", "delete_table"):
            assert kwargs["retry"] is RETRY, name
        if name == "query":
            assert kwargs["retry"] is RETRY and kwargs["job_retry"] is JOB_RETRY
            assert kwargs["location"] == "EU"
    for job in client.jobs:
        assert job.result_kwargs.get("retry") is RETRY
    assert client.jobs[-1].read_api is False
    loads = [kwargs["job_config"] for name, _, kwargs in client.calls if name == "load"]
    assert [c.write_disposition for c in loads] == ["WRITE_APPEND", "WRITE_APPEND", "WRITE_TRUNCATE"]
    assert all(c.source_format == "PARQUET" and c.schema for c in loads)


def test_library_defaults_when_no_policies_are_given() -> None:
    client = FakeClient(existing=None)
    BigQueryWarehouse("p", client=client).query("SELECT 1")
    (_, _, kwargs) = client.calls[0]
    assert "retry" not in kwargs and "job_retry" not in kwargs
    assert client.jobs[0].read_api is True


def test_bigquery_schema_from_arrow() -> None:
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("n", pa.int32()),
            pa.field("f", pa.float64()),
            pa.field("s", pa.string()),
            pa.field("b", pa.bool_()),
            pa.field("d", pa.date32()),
            pa.field("ts", pa.timestamp("us", tz="UTC")),
            pa.field("local", pa.timestamp("us")),
            pa.field("tags", pa.list_(pa.string())),
            pa.field("money", pa.decimal128(38, 9)),
            pa.field("pt", pa.struct([("x", pa.float64())])),
        ]
    )
    got = [(f.name, f.field_type, f.mode) for f in bigquery_schema(schema)]
    assert got == [
        ("id", "INT64", "REQUIRED"),
        ("n", "INT64", "NULLABLE"),
        ("f", "FLOAT64", "NULLABLE"),
        ("s", "STRING", "NULLABLE"),
        ("b", "BOOL", "NULLABLE"),
        ("d", "DATE", "NULLABLE"),
        ("ts", "TIMESTAMP", "NULLABLE"),
        ("local", "DATETIME", "NULLABLE"),
        ("tags", "STRING", "REPEATED"),
        ("money", "NUMERIC", "NULLABLE"),
        ("pt", "RECORD", "NULLABLE"),
    ]
    with pytest.raises(ValueError, match="no BigQuery type"):
        bigquery_schema(pa.schema([("m", pa.map_(pa.string(), pa.int64()))]))


def test_merge_statement_matches_required_keys_with_equals_and_nullable_ones_null_safe() -> None:
    schema = bigquery_schema(
        pa.schema([pa.field("a", pa.int64(), nullable=False), ("b", pa.string()), ("v", pa.int64())])
    )
    sql = merge_statement("p.d.t", "p.d.t__staging_x", ["a", "b", "v"], ["a", "b"], schema)
    assert "ON s._merge_delete AND t.`a` = s.`a` AND t.`b` IS NOT DISTINCT FROM s.`b`" in sql
    assert "FROM (SELECT DISTINCT `a`, `b` FROM `p.d.t__staging_x`)" in sql
    assert "WHEN MATCHED THEN DELETE" in sql
    with pytest.raises(ValueError, match="identifier"):
        merge_statement("p.d.t", "p.d.s", ["a; DROP"], ["a"], schema)
    assert wh_module._MARKER == "_merge_delete"
