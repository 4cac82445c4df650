"""Bronze file validation (JSONL against the contracts, sales Parquet) and bronze object names.

Properties: ``validate_bronze_file`` never raises on any bytes: it returns a report, and a bad
report has a non-empty reason; a JSONL file of n lines with bad lines reports rows == n and names
the first bad record (1-based) and its field, so the file is quarantined whole with nothing lost;
``parse_bronze`` either inverts the object-name builders or raises ``UnrecognizedBronzePath``.
"""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st
from rillflow_functions import lake_paths
from rillflow_functions.bronze_validation import to_jsonl, validate_bronze_file
from rillflow_functions.lake_paths import BronzeObject, UnrecognizedBronzePath

from contracts.sales import SALES_LINE_SCHEMA
from tests.fuzz.strategies import fuzz, json_values, mutate
from tests.fuzz.test_contracts import clickstream_records, startup_records

DAY = date(2026, 1, 9)
OBJECTS = {
    "clickstream": BronzeObject("clickstream", DAY, "jsonl"),
    "startups": BronzeObject("startups", DAY, "jsonl", "full"),
    "sales": BronzeObject("sales", DAY, "parquet"),
}
GOOD: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "clickstream": clickstream_records,
    "startups": startup_records,
}


def _check_bad(report: Any) -> None:
    assert not report.ok
    assert isinstance(report.reason, str) and report.reason


@fuzz(200)
@given(st.sampled_from(sorted(OBJECTS)), st.binary(max_size=300))
def test_any_bytes_give_a_report(flow: str, data: bytes) -> None:
    report = validate_bronze_file(OBJECTS[flow], data)
    if not report.ok:
        _check_bad(report)


@fuzz(150)
@given(st.sampled_from(["clickstream", "startups"]), st.lists(json_values, min_size=1, max_size=5))
def test_any_json_lines_give_a_report(flow: str, values: list[Any]) -> None:
    data = "".join(json.dumps(v) + "\n" for v in values).encode()
    report = validate_bronze_file(OBJECTS[flow], data)
    if not report.ok:
        _check_bad(report)
        assert report.rows == len(values)
        assert 1 <= report.first_bad["record"] <= len(values) and report.first_bad["field"]


def test_hostile_json_lines_are_reported_not_raised() -> None:
    for line in (b"[" * 100_000, b"1" * 5000, b'{"a": ' + b"9" * 5000 + b"}"):
        report = validate_bronze_file(OBJECTS["clickstream"], line + b"\n")
        _check_bad(report)
        assert report.first_bad["record"] == 1 and report.first_bad["field"] == "<json>"


@fuzz(100)
@given(st.sampled_from(["clickstream", "startups"]), st.data())
def test_bad_lines_are_counted_and_the_first_is_named(flow: str, data: st.DataObject) -> None:
    good = data.draw(st.lists(GOOD[flow], min_size=1, max_size=5))
    bad_at = data.draw(st.lists(st.integers(min_value=0, max_value=len(good)), max_size=3, unique=True))
    lines = [json.dumps(r) for r in good]
    bad = data.draw(st.lists(st.sampled_from(["not json {", "[]", '{"x": 1}', "42"]), min_size=3, max_size=3))
    for i, where in enumerate(sorted(bad_at, reverse=True)):
        lines.insert(where, bad[i])
    report = validate_bronze_file(
        OBJECTS[flow], ("\n".join(lines) + "\n").encode(), {"rows": str(len(lines))}
    )
    if not bad_at:
        assert report.ok and report.rows == len(good)
        return
    _check_bad(report)
    assert report.rows == len(lines)  # in = good + rejected: every line counted
    first = next(n for n, line in enumerate(lines, start=1) if line in bad)
    assert report.first_bad["record"] == first and report.first_bad["field"]


@fuzz(60)
@given(st.sampled_from(["clickstream", "startups"]), st.data())
def test_declared_rows_must_match(flow: str, data: st.DataObject) -> None:
    records = data.draw(st.lists(GOOD[flow], min_size=1, max_size=4))
    declared = data.draw(st.integers(min_value=0, max_value=9).filter(lambda n: n != len(records)))
    report = validate_bronze_file(OBJECTS[flow], to_jsonl(records), {"rows": str(declared)})
    _check_bad(report)
    assert report.first_bad["field"] == "<file>" and str(declared) in (report.reason or "")


def _sales_parquet(rows: int) -> bytes:
    values: dict[str, Any] = {}
    for f in SALES_LINE_SCHEMA:
        if pa.types.is_string(f.type):
            values[f.name] = [
                "o1" if f.name == "order_id" else "USD" if f.name == "currency" else "web"
            ] * rows
        elif pa.types.is_timestamp(f.type):
            values[f.name] = [0] * rows
        else:
            values[f.name] = [1] * rows
    values["line_no"] = list(range(1, rows + 1))
    values["discount"] = [0.0] * rows
    values["status"] = ["completed"] * rows
    buf = io.BytesIO()
    pq.write_table(pa.table(values, schema=SALES_LINE_SCHEMA), buf)
    return buf.getvalue()


SALES = _sales_parquet(3)


def test_the_sales_sample_is_valid() -> None:
    assert validate_bronze_file(OBJECTS["sales"], SALES).ok


@fuzz(150)
@given(st.data())
def test_mutated_parquet_gives_a_report(data: st.DataObject) -> None:
    report = validate_bronze_file(OBJECTS["sales"], mutate(SALES, data.draw))
    if not report.ok:
        _check_bad(report)


@fuzz(200)
@given(
    st.text(max_size=80)
    | st.from_regex(r"\Abronze/[a-z]{0,12}/(load_type=[a-z]{0,6}/)?dt=[0-9-]{8,12}/part-\d{5}\.[a-z]{4,8}\Z")
)
def test_parse_bronze_accepts_or_names_the_problem(name: str) -> None:
    try:
        parsed = lake_paths.parse_bronze(name)
    except UnrecognizedBronzePath as exc:
        assert repr(name) in str(exc)
        return
    assert parsed.flow in ("clickstream", "sales", "startups")


@fuzz(100)
@given(st.dates(), st.sampled_from(["full", "delta"]))
def test_parse_bronze_inverts_the_builders(day: date, load_type: str) -> None:
    assert lake_paths.parse_bronze(lake_paths.clickstream_object(day)) == BronzeObject(
        "clickstream", day, "jsonl"
    )
    assert lake_paths.parse_bronze(lake_paths.sales_object(day)) == BronzeObject("sales", day, "parquet")
    assert lake_paths.parse_bronze(lake_paths.startups_object(load_type, day)) == BronzeObject(
        "startups", day, "jsonl", load_type
    )
