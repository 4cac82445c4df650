"""``BigQueryWarehouse`` through the official client against the emulator, beside ``DuckDBWarehouse``.

Each scenario runs the same calls on both warehouses and compares what a query returns.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from google.cloud import bigquery

from harness.dataform import compile_project
from harness.dataform.transpile import to_duckdb
from ml.churn.scoring import SCORES_KEY, SCORES_TABLE
from rillflow.settings import Settings, load_settings
from rillflow.warehouse import BigQueryWarehouse, DuckDBWarehouse, Warehouse
from tests.support.bigquery import DATAFORM_DIR, DATAFORM_VARS, PROJECT, table_names

pytestmark = pytest.mark.parity


@pytest.fixture
def settings() -> Settings:
    return load_settings()


def _rows(keys: Sequence[int | None], value: str) -> pa.Table:
    return pa.table({"k": pa.array(keys, pa.int64()), "v": pa.array([value] * len(keys))})


def _select(wh: Warehouse, sql: str) -> list[dict[str, Any]]:
    return wh.query(sql).to_pylist()


def _both(
    tmp_path: Path, bq: BigQueryWarehouse, new_dataset: Callable[[str], str]
) -> tuple[str, list[tuple[str, Warehouse]]]:
    """A dataset name valid on both sides, and the two warehouses."""
    dataset = new_dataset("wh")
    return dataset, [("duckdb", DuckDBWarehouse(tmp_path / "w.duckdb")), ("bigquery", bq)]


def test_write_modes_and_query_match_duckdb(
    tmp_path: Path, bq_warehouse: BigQueryWarehouse, new_dataset: Callable[[str], str]
) -> None:
    ds, warehouses = _both(tmp_path, bq_warehouse, new_dataset)
    seen: dict[str, list[Any]] = {}
    for name, wh in warehouses:
        steps: list[Any] = []
        assert wh.write(ds, "t", _rows([1, 2], "a")) == 2
        wh.write(ds, "t", _rows([3], "a"))
        steps.append(_select(wh, f"SELECT count(*) AS n FROM {ds}.t"))
        wh.write(ds, "t", _rows([2, 4], "b"), mode="merge", key=["k"])
        steps.append(_select(wh, f"SELECT k, v FROM {ds}.t ORDER BY k"))
        wh.write(ds, "t", _rows([2, 4], "b"), mode="merge", key=["k"])  # re-delivered: a no-op
        steps.append(_select(wh, f"SELECT k, v FROM {ds}.t ORDER BY k"))
        wh.write(ds, "t", _rows([9], "z"), mode="replace")
        steps.append(_select(wh, f"SELECT k, v FROM {ds}.t ORDER BY k"))
        seen[name] = steps
    assert seen["bigquery"] == seen["duckdb"]
    assert seen["bigquery"][1] == [
        {"k": 1, "v": "a"},
        {"k": 2, "v": "b"},
        {"k": 3, "v": "a"},
        {"k": 4, "v": "b"},
    ]
    assert seen["bigquery"][3] == [{"k": 9, "v": "z"}]


def test_merge_matches_null_keys_and_keeps_incoming_duplicates_like_duckdb(
    tmp_path: Path, bq_warehouse: BigQueryWarehouse, new_dataset: Callable[[str], str]
) -> None:
    ds, warehouses = _both(tmp_path, bq_warehouse, new_dataset)
    seen = {}
    for name, wh in warehouses:
        wh.write(ds, "t", _rows([1, None, None], "old"))
        wh.write(
            ds,
            "t",
            pa.table({"k": pa.array([None, None, 5], pa.int64()), "v": ["n1", "n2", "n3"]}),
            "merge",
            ["k"],
        )
        seen[name] = _select(wh, f"SELECT k, v FROM {ds}.t ORDER BY k NULLS FIRST, v")
    assert (
        seen["bigquery"]
        == seen["duckdb"]
        == [
            {"k": None, "v": "n1"},
            {"k": None, "v": "n2"},
            {"k": 1, "v": "old"},
            {"k": 5, "v": "n3"},
        ]
    )


def test_types_round_trip(bq_warehouse: BigQueryWarehouse, new_dataset: Callable[[str], str]) -> None:
    """Loads carry the Arrow types: an int column with nulls stays INT64, naive timestamps are DATETIME."""
    ds = new_dataset("types")
    data = pa.table(
        {
            "i": pa.array([1, None], pa.int64()),
            "small": pa.array([7, None], pa.int32()),
            "f": pa.array([1.5, None], pa.float64()),
            "s": pa.array(["x", None]),
            "b": pa.array([True, None]),
            "d": pa.array([dt.date(2024, 1, 2), None]),
            "ts": pa.array(
                [dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), None], pa.timestamp("us", tz="UTC")
            ),
            "local": pa.array([dt.datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("us")),
        }
    )
    bq_warehouse.write(ds, "t", data)
    # BigQuery answers with the legacy type names (INTEGER); the emulator echoes the names it was
    # given (INT64): compare them as one
    legacy = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN", "STRUCT": "RECORD"}
    table = bq_warehouse.client.get_table(f"{PROJECT}.{ds}.t")
    schema = {f.name: legacy.get(f.field_type, f.field_type) for f in table.schema}
    assert schema == {
        "i": "INTEGER",
        "small": "INTEGER",
        "f": "FLOAT",
        "s": "STRING",
        "b": "BOOLEAN",
        "d": "DATE",
        "ts": "TIMESTAMP",
        "local": "DATETIME",
    }
    got = bq_warehouse.query(f"SELECT * FROM {ds}.t ORDER BY i NULLS LAST").to_pylist()
    assert got == [
        {"i": 1, "small": 7, "f": 1.5, "s": "x", "b": True, "d": dt.date(2024, 1, 2),
         "ts": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC), "local": dt.datetime(2024, 1, 2, 3, 4, 5)},
        dict.fromkeys(schema),
    ]  # fmt: skip
    # a merge of an int column holding nulls into the existing INT64 table
    bq_warehouse.write(ds, "t", data.slice(1), mode="merge", key=["s"])
    assert bq_warehouse.query(f"SELECT COUNT(*) AS n FROM {ds}.t").to_pylist() == [{"n": 2}]


class _RecordingClient:
    """The real client, with every table it was asked to create or delete written down."""

    def __init__(self, client: bigquery.Client) -> None:
        self._client = client
        self.created: list[bigquery.Table] = []
        self.deleted: list[str] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def create_table(self, table: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.created.append(table)
        return self._client.create_table(table, *args, **kwargs)

    def delete_table(self, table: Any, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self.deleted.append(str(table))
        self._client.delete_table(table, *args, **kwargs)


def test_concurrent_merges_use_their_own_staging_tables(
    bq_warehouse: BigQueryWarehouse, new_dataset: Callable[[str], str]
) -> None:
    """Two workers merging into one table at once: each stages in its own expiring table, and
    every staging table is gone afterwards (the finding: one shared ``<dest>__staging``)."""
    ds = new_dataset("merge")
    bq_warehouse.write(ds, "t", _rows([0], "seed"))
    recorder = _RecordingClient(bq_warehouse.client)
    wh = BigQueryWarehouse(
        PROJECT,
        client=recorder,
        retry=bq_warehouse._calls["retry"],
        job_retry=bq_warehouse._jobs["job_retry"],
        read_api=False,
    )
    errors: list[BaseException] = []

    def worker(first: int) -> None:
        try:
            for batch in range(3):
                keys = [first + 10 * batch + i for i in range(3)]
                wh.write(ds, "t", _rows(keys, f"w{first}"), mode="merge", key=["k"])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (100, 200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert wh.query(f"SELECT COUNT(*) AS n FROM {ds}.t").to_pylist() == [{"n": 1 + 2 * 3 * 3}]
    staging = [t for t in recorder.created if "__staging_" in t.table_id]
    assert len({t.table_id for t in staging}) == len(staging) == 6, "one staging table per merge call"
    now = dt.datetime.now(dt.UTC)
    assert all(t.expires is not None and now < t.expires <= now + dt.timedelta(hours=1) for t in staging)
    assert {t.table_id for t in staging} <= {d.rsplit(".", 1)[-1] for d in recorder.deleted}
    assert table_names(bq_warehouse.client, ds) == ["t"]


def test_failed_merge_still_removes_its_staging_table(
    bq_warehouse: BigQueryWarehouse, new_dataset: Callable[[str], str]
) -> None:
    ds = new_dataset("fail")
    bq_warehouse.write(ds, "t", _rows([1], "a"))
    with pytest.raises(Exception, match="(?i)k2|not found|unrecognized|column"):
        bq_warehouse.write(ds, "t", _rows([1], "b"), mode="merge", key=["k2"])
    assert table_names(bq_warehouse.client, ds) == ["t"]
    assert bq_warehouse.query(f"SELECT k, v FROM {ds}.t").to_pylist() == [{"k": 1, "v": "a"}]


def test_merge_into_a_missing_table_creates_it(
    bq_warehouse: BigQueryWarehouse, new_dataset: Callable[[str], str]
) -> None:
    ds = new_dataset("new")
    assert bq_warehouse.write(ds, "t", _rows([1, 2], "a"), mode="merge", key=["k"]) == 2
    assert bq_warehouse.query(f"SELECT k FROM {ds}.t ORDER BY k").to_pylist() == [{"k": 1}, {"k": 2}]
    assert table_names(bq_warehouse.client, ds) == ["t"]


def test_ml_write_back_into_the_table_dataform_creates(
    settings: Settings, bq_warehouse: BigQueryWarehouse, new_dataset: Callable[[str], str]
) -> None:
    """The churn scoring step's merge (nullable Arrow columns, nanosecond timestamps from pandas)
    into ``ml.ml_churn_scores`` as its Dataform operation creates it (NOT NULL columns, partitioned,
    clustered), on both warehouses."""
    compiled = compile_project(
        DATAFORM_DIR, {"lake_bucket": settings.lake_bucket, **DATAFORM_VARS}, settings.project
    )
    (ddl,) = next(o["queries"] for o in compiled["operations"] if o["target"]["name"] == SCORES_TABLE)
    dataset = new_dataset("ml")
    ddl = ddl.replace(f"`{PROJECT}.ml.", f"`{PROJECT}.{dataset}.")
    bq_warehouse.query(ddl)  # the statement as Dataform sends it
    duck = DuckDBWarehouse(settings.warehouse_path)
    duck.execute(f'CREATE SCHEMA "{dataset}"')
    for statement in to_duckdb(ddl, {PROJECT}):  # as the local runner translates it
        duck.execute(statement)

    def scores(customers: list[str], score: float, day: dt.date) -> pa.Table:
        frame = pd.DataFrame(
            {
                "customer_id": customers,
                "as_of_date": [day] * len(customers),
                "score": [score] * len(customers),
                "model_name": ["churn"] * len(customers),
                "model_version": ["3"] * len(customers),
                "scored_at": pd.to_datetime(["2024-01-07T12:00:00.123456789Z"] * len(customers)),
            }
        )
        return pa.Table.from_pandas(frame, preserve_index=False)

    sunday = dt.date(2024, 1, 7)
    for batch in (scores(["c1", "c2"], 0.25, sunday), scores(["c2", "c3"], 0.5, sunday)):
        for wh in (duck, bq_warehouse):
            wh.write(dataset, SCORES_TABLE, batch, mode="merge", key=list(SCORES_KEY))
    select = f"SELECT customer_id, as_of_date, score, scored_at FROM {dataset}.{SCORES_TABLE} ORDER BY 1"
    assert bq_warehouse.query(select).to_pylist() == duck.query(select).to_pylist()
    got = bq_warehouse.query(select).to_pylist()
    assert [(r["customer_id"], r["score"]) for r in got] == [("c1", 0.25), ("c2", 0.5), ("c3", 0.5)]
    assert got[0]["scored_at"] == dt.datetime(2024, 1, 7, 12, 0, 0, 123457, tzinfo=dt.UTC), "rounded to µs"
