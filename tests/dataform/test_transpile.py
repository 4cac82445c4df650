"""The dialect-patch module: each BigQuery construct the project needs, translated and executed on DuckDB."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from harness.dataform.external import parse_external_table, view_select
from harness.dataform.transpile import TranspileError, parse_declare, to_duckdb, to_duckdb_query


def one(sql: str, **variables: object) -> object:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA d; CREATE TABLE d.t AS SELECT 1 AS x")
    row = con.execute(to_duckdb_query(sql, ["proj"], variables)).fetchone()
    assert row is not None
    return row[0]


def test_numeric_is_bigquery_precision() -> None:
    assert one("SELECT CAST('12345678901.123456789' AS NUMERIC)") == decimal.Decimal("12345678901.123456789")
    assert one("SELECT SAFE_CAST('x' AS NUMERIC)") is None


def test_parse_date_and_timestamp_with_safe_forms() -> None:
    assert one("SELECT PARSE_DATE('%Y-%m-%d', '2024-02-29')") == dt.date(2024, 2, 29)
    assert one("SELECT SAFE.PARSE_DATE('%Y-%m-%d', 'not a date')") is None
    parsed = one("SELECT PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%S', '2024-01-02 03:04:05')")
    assert parsed == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    assert one("SELECT SAFE.PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%S', 'nope')") is None


def test_generate_date_array_unnest() -> None:
    sql = "SELECT COUNT(*) FROM UNNEST(GENERATE_DATE_ARRAY(DATE '2024-01-01', DATE '2024-01-31', INTERVAL 7 DAY)) AS d"
    assert one(sql) == 5


def test_three_part_names_map_to_schema_table_and_unknown_projects_fail() -> None:
    assert one("SELECT x FROM `proj.d.t`") == 1
    with pytest.raises(TranspileError, match="other-project"):
        to_duckdb("SELECT x FROM `other-project.d.t`", ["proj"])


def test_date_add_and_sub_stay_dates() -> None:
    assert one("SELECT DATE_SUB(DATE '2024-03-01', INTERVAL 1 DAY)") == dt.date(2024, 2, 29)
    assert one("SELECT DATE_ADD(DATE '2024-01-31', INTERVAL 1 MONTH)") == dt.date(2024, 2, 29)


def test_dayofweek_and_isoweek_follow_bigquery() -> None:
    assert one("SELECT EXTRACT(DAYOFWEEK FROM DATE '2024-01-07')") == 1  # a Sunday
    assert one("SELECT EXTRACT(DAYOFWEEK FROM DATE '2024-01-06')") == 7
    assert one("SELECT EXTRACT(ISOWEEK FROM DATE '2024-12-30')") == 1


def test_create_table_storage_hints_are_dropped() -> None:
    sql = "CREATE TABLE IF NOT EXISTS `proj.d.s` (a STRING NOT NULL, t TIMESTAMP) PARTITION BY DATE(t) CLUSTER BY a"
    (statement,) = to_duckdb(sql, ["proj"])
    assert statement == 'CREATE TABLE IF NOT EXISTS "d"."s" (a TEXT NOT NULL, t TIMESTAMPTZ)'


def test_declare_is_parsed_and_variables_inline_as_literals() -> None:
    declare = parse_declare("\n DECLARE incremental_from DATE DEFAULT (SELECT DATE '2024-01-01')\n")
    assert declare is not None and declare.name == "incremental_from" and declare.type == "DATE"
    assert parse_declare("SELECT 1") is None
    sql = to_duckdb_query(
        "SELECT x FROM t WHERE d >= incremental_from", [], {"incremental_from": dt.date(2024, 1, 3)}
    )
    assert "CAST('2024-01-03' AS DATE)" in sql


def test_unsupported_constructs_fail_loudly() -> None:
    with pytest.raises(TranspileError, match="no DuckDB translation"):
        to_duckdb("SELECT ARRAY_AGG(x ORDER BY y LIMIT 1) FROM t")


EXTERNAL = """CREATE EXTERNAL TABLE IF NOT EXISTS `proj.bronze.things` (
  id STRING,
  amount FLOAT64
)
WITH PARTITION COLUMNS (dt DATE)
OPTIONS (format = "PARQUET", uris = ["gs://lake/bronze/things/*"], hive_partition_uri_prefix = "gs://lake/bronze/things")
"""


def test_external_table_reads_hive_partitions_or_is_empty(tmp_path: Path) -> None:
    table = parse_external_table(EXTERNAL)
    assert (table.schema, table.name, table.format) == ("bronze", "things", "PARQUET")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA bronze")
    con.execute(
        f"CREATE OR REPLACE VIEW bronze.things AS {view_select(table, lambda bucket: tmp_path / bucket)}"
    )
    assert con.execute("SELECT COUNT(*) FROM bronze.things").fetchone() == (0,)
    folder = tmp_path / "lake" / "bronze" / "things" / "dt=2024-01-02"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["a"], "amount": [1.5], "extra": [1]}), folder / "part-0.parquet")
    con.execute(
        f"CREATE OR REPLACE VIEW bronze.things AS {view_select(table, lambda bucket: tmp_path / bucket)}"
    )
    assert con.execute("SELECT * FROM bronze.things").fetchall() == [("a", 1.5, dt.date(2024, 1, 2))]
