from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rillflow_functions import day_completion, lake_paths, sales_jobs
from rillflow_functions import firestore_values as fv
from rillflow_functions.bronze_validation import to_jsonl, validate_bronze_file
from rillflow_functions.ports import chunked

from contracts.sales import SALES_LINE_SCHEMA
from tests.functions import samples

DAY = date(2026, 1, 5)  # a Monday


def test_path_builders_and_parser_agree() -> None:
    for name, flow, load_type in [
        (lake_paths.clickstream_object(DAY), "clickstream", None),
        (lake_paths.sales_object(DAY), "sales", None),
        (lake_paths.startups_object("delta", DAY), "startups", "delta"),
    ]:
        parsed = lake_paths.parse_bronze(name)
        assert (parsed.flow, parsed.dt, parsed.load_type) == (flow, DAY, load_type)
    assert (
        lake_paths.startups_object("full", DAY)
        == "bronze/startups/load_type=full/dt=2026-01-05/part-00000.jsonl"
    )


@pytest.mark.parametrize(
    "name",
    [
        "bronze/clickstream/dt=2026-13-01/part-00000.jsonl",
        "bronze/sales/dt=2026-01-05/part-00000.jsonl",
        "bronze/startups/dt=2026-01-05/part-00000.jsonl",
        "bronze/other/dt=2026-01-05/part-00000.jsonl",
        "bronze/clickstream/load_type=full/dt=2026-01-05/part-00000.jsonl",
    ],
)
def test_unrecognized_bronze_names(name: str) -> None:
    with pytest.raises(lake_paths.UnrecognizedBronzePath):
        lake_paths.parse_bronze(name)


def test_bronze_scope_and_temporary_objects() -> None:
    assert lake_paths.is_bronze("bronze/clickstream/dt=2026-01-05/part-00000.jsonl")
    for name in [
        "quarantine/bronze/x.jsonl",
        "lake/app_events/dt=2026-01-05/x.parquet",
        "bronze/sales/_tmp/abc.parquet",
        "bronze/sales/dt=2026-01-05/part-00000.parquet.tmp",
    ]:
        assert not lake_paths.is_bronze(name), name


def test_manifest_id_is_a_safe_document_id_per_generation() -> None:
    a = lake_paths.manifest_id("b", "bronze/x/dt=1/part.jsonl", 1)
    assert "/" not in a and "=" not in a and a != lake_paths.manifest_id("b", "bronze/x/dt=1/part.jsonl", 2)


def test_expected_flows() -> None:
    friday = date(2026, 1, 9)
    assert day_completion.expected_flows(DAY, None) == {"clickstream"}
    assert day_completion.expected_flows(friday, None) == {"clickstream", "startups"}
    assert day_completion.expected_flows(DAY, "2026-01-05") == {"clickstream", "startups"}
    assert not day_completion.is_complete({"sales"}, {"clickstream"})


def test_jsonl_is_canonical() -> None:
    ts = datetime(2026, 1, 5, 1, 2, 3, tzinfo=UTC)
    assert to_jsonl([{"b": 1, "a": ts}]) == b'{"a":"2026-01-05T01:02:03Z","b":1}\n'


def _click_file(records: list[dict]) -> bytes:
    return to_jsonl(records)


def test_good_clickstream_file() -> None:
    obj = lake_paths.parse_bronze(lake_paths.clickstream_object(DAY))
    report = validate_bronze_file(obj, _click_file(samples.clicks_for(DAY, 5)), {"rows": "5"})
    assert report.ok and report.rows == 5


def test_bad_clickstream_files_name_the_first_bad_record() -> None:
    obj = lake_paths.parse_bronze(lake_paths.clickstream_object(DAY))
    good = _click_file(samples.clicks_for(DAY, 3))
    corrupt = good + b'{"event_id": "x", truncated\n'
    report = validate_bronze_file(obj, corrupt)
    assert not report.ok and report.first_bad["record"] == 4 and report.first_bad["field"] == "<json>"
    bad_device = _click_file([samples.click(DAY, 0), samples.click(DAY, 1, device="toaster")])
    report = validate_bronze_file(obj, bad_device)
    assert not report.ok and report.first_bad == {"record": 2, "field": "device", "value": None}
    assert validate_bronze_file(obj, b"").reason == "file has no records"
    assert "differs from the declared" in str(validate_bronze_file(obj, good, {"rows": "7"}).reason)
    assert not validate_bronze_file(obj, b"\xff\xfe").ok


def test_every_bad_record_is_named_and_only_the_good_ones_are_kept() -> None:
    """Bad-input drill: a file was judged by its first bad record only and kept or refused whole;
    now each record is judged, and the report carries the file of the good ones."""
    obj = lake_paths.parse_bronze(lake_paths.clickstream_object(DAY))
    good = [samples.click(DAY, n) for n in range(3)]
    lines = [
        json.dumps(good[0]).encode(),
        json.dumps(samples.click(DAY, 10, event_ts=17)).encode(),  # wrong type
        b"\xff\xfe" + json.dumps(samples.click(DAY, 11)).encode(),  # not UTF-8
        json.dumps(good[1]).encode(),
        json.dumps(samples.click(DAY, 12, page_url="/" + "x" * (1 << 20))).encode(),  # oversized
        json.dumps(samples.click(DAY, 13, page_url="/a\ud800")).encode(),  # lone surrogate escape
        json.dumps(samples.click(DAY, 14)).encode().replace(b'"FR"', b"NaN"),  # NaN is no JSON
        b'{"event_id": "ck-x", "country": Infinity}',  # nor is Infinity
        json.dumps(good[2]).encode(),
        b'{"event_id": "ck-cut", "event_ts": "2026-01-05T00:0',  # truncated last line
    ]
    report = validate_bronze_file(obj, b"\n".join(lines), {"rows": str(len(lines))})
    assert not report.ok and report.rows == 10 and report.rejected_rows == 7
    assert [(r["record"], r["field"]) for r in report.rejects] == [
        (2, "event_ts"),
        (3, "<utf-8>"),
        (5, "page_url"),
        (6, "page_url"),
        (7, "<json>"),
        (8, "<json>"),
        (10, "<json>"),
    ]
    assert "over the 1,048,576-byte record limit" in report.rejects[2]["reason"]
    assert "not valid Unicode" in report.rejects[3]["reason"]
    assert report.kept == b"".join(json.dumps(g).encode() + b"\n" for g in good) and report.kept_rows == 3
    assert validate_bronze_file(obj, report.kept, {"rows": "3"}).ok
    assert report.first_bad == {"record": 2, "field": "event_ts", "value": None}
    assert "and 6 more of 10 records rejected" in str(report.reason)


def test_a_bad_sales_line_is_rejected_and_the_rest_kept() -> None:
    obj = lake_paths.parse_bronze(lake_paths.sales_object(DAY))
    rows, _ = sales_jobs.flatten_orders([(o["order_id"], o) for o in samples.orders_for(DAY, 3)])
    rows[1]["unit_price"] = -1.0
    report = validate_bronze_file(obj, sales_jobs.to_parquet(rows), {"rows": "6"})
    assert [(r["record"], r["field"]) for r in report.rejects] == [(2, "unit_price")]
    assert report.kept is not None and report.kept_rows == 5
    kept = pq.read_table(io.BytesIO(report.kept))
    assert kept.schema.equals(SALES_LINE_SCHEMA)
    assert kept.to_pylist() == [r for i, r in enumerate(rows) if i != 1]


def test_empty_startups_delta_is_fine_but_full_is_not() -> None:
    delta = lake_paths.parse_bronze(lake_paths.startups_object("delta", DAY))
    full = lake_paths.parse_bronze(lake_paths.startups_object("full", DAY))
    assert validate_bronze_file(delta, b"").ok
    assert not validate_bronze_file(full, b"").ok


def test_sales_parquet_validation() -> None:
    obj = lake_paths.parse_bronze(lake_paths.sales_object(DAY))
    rows, invalid = sales_jobs.flatten_orders([(o["order_id"], o) for o in samples.orders_for(DAY, 3)])
    assert not invalid
    data = sales_jobs.to_parquet(rows)
    assert validate_bronze_file(obj, data, {"rows": "6"}).ok
    rows[4]["quantity"] = 0
    bad = validate_bronze_file(obj, sales_jobs.to_parquet(rows))
    assert not bad.ok and bad.first_bad["record"] == 5 and bad.first_bad["field"] == "quantity"
    assert not validate_bronze_file(obj, b"PAR1 not really").ok
    buf = io.BytesIO()
    pq.write_table(pa.table({"order_id": ["x"]}), buf)
    assert validate_bronze_file(obj, buf.getvalue()).first_bad["field"] == "<schema>"


def test_flatten_orders_sets_invalid_orders_aside() -> None:
    docs = [(o["order_id"], o) for o in samples.orders_for(DAY, 2)]
    docs.append(
        ("SO-bad", samples.order(DAY, 9, order_id="SO-bad", currency="ZZZ", validation={"ok": False}))
    )
    rows, invalid = sales_jobs.flatten_orders(docs)
    assert len(rows) == 4 and [i["order_id"] for i in invalid] == ["SO-bad"]
    assert "currency" in invalid[0]["reason"]


def test_chunked() -> None:
    assert [len(c) for c in chunked(range(1201), 500)] == [500, 500, 201]
    assert chunked([], 3) == []


def test_firestore_values_round_trip() -> None:
    data = {
        "s": "x",
        "i": 3,
        "f": 1.5,
        "b": True,
        "n": None,
        "t": datetime(2026, 1, 5, 1, 2, 3, 456000, tzinfo=UTC),
        "l": [1, "a", {"k": [2.0]}],
        "m": {"x": {"y": None}},
    }
    doc = fv.encode_document(
        "projects/p/databases/(default)/documents/c/d",
        data,
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 2, tzinfo=UTC),
    )
    assert fv.decode_fields(doc) == data
    assert fv.document_update_time(doc) == datetime(2026, 1, 2, tzinfo=UTC)
    event = fv.parse_document_event(
        json.loads(json.dumps({"value": {"name": "x", "fields": {"a": {"integerValue": "7"}}}}))
    )
    assert fv.decode_fields(event.value) == {"a": 7}


def test_a_day_with_a_startups_load_starts_the_pipeline_as_weekly() -> None:
    from tests.functions.fakes import InMemoryDocuments, RecordingWorkflows

    friday = date(2026, 1, 9)
    docs, workflows = InMemoryDocuments(), RecordingWorkflows()
    waiting = day_completion.start_if_complete(docs, workflows, friday, {"clickstream"})
    assert not waiting.started and workflows.started == []
    assert day_completion.start_if_complete(docs, workflows, friday, {"clickstream", "startups"}).started
    assert workflows.started == [
        (
            "daily_pipeline",
            {"date": "2026-01-09", "run_id": day_completion.run_id_for(friday), "weekly": True},
        )
    ]
    assert not day_completion.start_if_complete(docs, workflows, friday, {"clickstream", "startups"}).started
