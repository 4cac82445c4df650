"""generate_sales -> Firestore -> on_sale_written (every event delivered twice) -> export_sales."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pyarrow.parquet as pq
from rillflow_functions import orders

from contracts.sales import SALES_LINE_SCHEMA
from tests.functions import golden, samples
from tests.functions.deliver import firestore_event, post_event
from tests.functions.fakes import FakeGenerators

DAY = date(2026, 1, 5)


def _many_orders(day: date) -> list[dict]:
    out = samples.orders_for(day, 1201)
    out[7] = samples.order(day, 8, currency="XXX")  # invalid: flagged and counted, never dropped
    return out


def _deliver_sales_changes(app_client, ports, twice: bool = True) -> None:  # type: ignore[no-untyped-def]
    client = app_client("on_sale_written")
    delivered = 0
    while delivered < len(ports.documents.changes):
        change = ports.documents.changes[delivered]
        delivered += 1
        if not change.path.startswith("sales/"):
            continue
        attrs, body = firestore_event(change, delivered)
        for _ in range(2 if twice else 1):
            resp = post_event(client, attrs, body)
            assert resp.status_code == 200, resp.get_data(as_text=True)


def _expected_ledger(docs: list[dict]) -> dict:
    valid = [o for o in docs if orders.validate_order(o) is None]
    return {
        "order_count": len(valid),
        "invalid_count": len(docs) - len(valid),
        "completed_count": sum(o["status"] == "completed" for o in valid),
        "revenue_usd_micros": sum(orders.revenue_usd_micros(o) for o in valid),
    }


def test_generate_sales_batches_and_is_idempotent(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    ports.generators = FakeGenerators(_many_orders)
    ports.install()
    client = app_client("generate_sales")
    resp = client.post("/", json={"date": DAY.isoformat()})
    assert resp.status_code == 200 and resp.get_json() == {"date": "2026-01-05", "orders": 1201, "batches": 3}
    assert ports.documents.batch_sizes == [500, 500, 201]
    first = ports.documents.collection("sales")
    assert client.post("/", json={"date": DAY.isoformat()}).status_code == 200
    assert ports.documents.collection("sales") == first and len(first) == 1201
    assert first["SO-20260105-00001"]["order_ts"] == datetime(2026, 1, 5, 0, 7, tzinfo=UTC)


def test_generate_sales_defaults_to_yesterday_and_rejects_bad_dates(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    ports.generators = FakeGenerators(lambda d: samples.orders_for(d, 2))
    ports.install()
    client = app_client("generate_sales")
    body = client.post("/").get_json()
    assert body["date"] == (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert client.post("/", json={"date": "05/01/2026"}).status_code == 400


def test_golden_firestore_event_updates_the_ledger(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    fixture = golden.load("firestore_document_written.json")
    client = app_client("on_sale_written")
    for _ in range(3):  # redelivery changes nothing
        assert post_event(client, fixture["attributes"], fixture["body"]).status_code == 200
    ledger = ports.documents.get("sales_ledger/2026-01-05")
    expected = _expected_ledger([samples.order(DAY, 1)])
    assert {k: ledger[k] for k in expected} == expected
    assert ledger["revenue_usd"] == round(24.5 * 1.1, 6)


def test_ledger_after_double_delivery_matches_the_orders(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    generated = _many_orders(DAY)[:40]
    ports.generators = FakeGenerators(lambda d: generated)
    ports.install()
    app_client("generate_sales").post("/", json={"date": DAY.isoformat()})
    _deliver_sales_changes(app_client, ports, twice=True)
    ledger = ports.documents.get("sales_ledger/2026-01-05")
    expected = _expected_ledger(generated)
    assert expected["invalid_count"] == 1
    assert {k: ledger[k] for k in expected} == expected
    flagged = ports.documents.get("sales/SO-20260105-00008")
    assert flagged["validation"]["ok"] is False and "currency" in flagged["validation"]["reason"]
    # The flag write triggered one more event; it settled without further writes.
    assert sum(c.path == "sales/SO-20260105-00008" for c in ports.documents.changes) == 2
    state_before = dict(ports.documents.docs)
    _deliver_sales_changes(app_client, ports, twice=False)  # a full replay of every event
    assert ports.documents.get("sales_ledger/2026-01-05") == state_before["sales_ledger/2026-01-05"]


def test_update_and_delete_adjust_by_the_delta(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    docs = ports.documents
    o1, o2 = samples.order(DAY, 1), samples.order(DAY, 2)
    docs.set("sales/" + o1["order_id"], o1)
    docs.set("sales/" + o2["order_id"], o2)
    docs.set("sales/" + o1["order_id"], {**o1, "status": "refunded"})
    docs.delete("sales/" + o2["order_id"])
    fixed = samples.order(DAY, 3, currency="XXX")
    docs.set("sales/" + fixed["order_id"], fixed)
    _deliver_sales_changes(app_client, ports)
    docs.set(
        "sales/" + fixed["order_id"],
        {**samples.order(DAY, 3), "validation": docs.must("sales/SO-20260105-00003")["validation"]},
    )
    _deliver_sales_changes(app_client, ports)
    ledger = docs.get("sales_ledger/2026-01-05")
    final = [{**o1, "status": "refunded"}, samples.order(DAY, 3)]
    expected = _expected_ledger(final)
    assert {k: ledger[k] for k in expected} == expected
    assert docs.must("sales/SO-20260105-00003")["validation"] == {"ok": True, "reason": None}


def test_export_sales_writes_parquet_and_replaces_atomically(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    day_orders = samples.orders_for(DAY, 5) + [samples.order(DAY, 6, items=[])]
    for o in day_orders + [samples.order(DAY + timedelta(days=1), 1)]:
        ports.documents.set("sales/" + o["order_id"], o)
    client = app_client("export_sales")
    body = client.post("/", json={"date": DAY.isoformat()}).get_json()
    assert body["rows"] == 10 and body["orders"] == 5 and body["invalid_orders"] == 1
    assert body["uri"] == "gs://rillflow-lake/bronze/sales/dt=2026-01-05/part-00000.parquet"
    name = "bronze/sales/dt=2026-01-05/part-00000.parquet"
    table = pq.read_table(io.BytesIO(ports.lake.read(name)))
    assert table.schema.equals(SALES_LINE_SCHEMA, check_metadata=False) and table.num_rows == 10
    assert ports.lake.read("quarantine/sales_orders/dt=2026-01-05/invalid-orders.jsonl").count(b"\n") == 1
    assert client.post("/", json={"date": DAY.isoformat()}).get_json()["action"] == "unchanged"
    generation = ports.lake.stat(name).generation
    extra = samples.order(DAY, 7)
    ports.documents.set("sales/" + extra["order_id"], extra)
    again = client.post("/", json={"date": DAY.isoformat()}).get_json()
    assert again["action"] == "replaced" and again["rows"] == 12
    assert ports.lake.stat(name).generation > generation


def test_scheduler_schedule_time_header_picks_the_day(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    """Cloud Scheduler's X-CloudScheduler-ScheduleTime is the job's "now": a retried or replayed
    run at 2026-03-02 00:30 UTC generates 2026-03-01, whatever the wall clock says."""
    ports.generators = FakeGenerators(lambda d: samples.orders_for(d, 2))
    ports.install()
    client = app_client("generate_sales")
    headers = {"X-CloudScheduler": "true", "X-CloudScheduler-ScheduleTime": "2026-03-02T00:30:00Z"}
    assert client.post("/", headers=headers).get_json()["date"] == "2026-03-01"
    bad = client.post("/", headers={"X-CloudScheduler-ScheduleTime": "yesterday"})
    assert bad.status_code == 400


def test_invalid_orders_without_a_usable_order_ts_are_exported_to_quarantine_once(ports, app_client) -> None:  # type: ignore[no-untyped-def]
    """Bad-input drill: an order whose order_ts was missing or a string was flagged by
    on_sale_written, but no day's range query found it: it was in neither bronze nor quarantine."""
    good = samples.order(DAY, 1)
    as_text = samples.order(DAY, 2, order_ts="2026-01-05T10:00:00Z")
    missing = {k: v for k, v in samples.order(DAY, 3).items() if k != "order_ts"}
    for o in (good, as_text, missing):
        ports.documents.set("sales/" + o["order_id"], o)
    _deliver_sales_changes(app_client, ports)
    client = app_client("export_sales")
    side = "quarantine/sales_orders/dt={}/invalid-orders.jsonl"

    def quarantined(day: date) -> dict[str, str]:
        if ports.lake.stat(side.format(day.isoformat())) is None:
            return {}
        lines = ports.lake.read(side.format(day.isoformat())).decode().splitlines()
        return {r["order_id"]: r["field"] for r in map(json.loads, lines)}

    body = client.post("/", json={"date": DAY.isoformat()}).get_json()
    assert (body["orders"], body["invalid_orders"]) == (1, 2)
    assert quarantined(DAY) == {as_text["order_id"]: "order_ts", missing["order_id"]: "order_ts"}
    later = DAY + timedelta(days=1)
    assert client.post("/", json={"date": later.isoformat()}).get_json()["invalid_orders"] == 0
    assert quarantined(later) == {}, "filed under one day only"
    again = client.post("/", json={"date": DAY.isoformat()}).get_json()
    assert again["invalid_orders"] == 2 and again["action"] == "unchanged"
