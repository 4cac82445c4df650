from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from rillflow_functions import ledger, orders
from rillflow_functions.ledger import Contribution

from tests.functions import samples
from tests.functions.fakes import InMemoryDocuments

DAY = date(2026, 1, 5)


def test_valid_order_passes_and_money_is_exact() -> None:
    o = samples.order(DAY, 1)
    assert orders.validate_order(o, o["order_id"]) is None
    assert orders.net_amount(o) == pytest.approx(2 * 10.0 - 1.0 + 5.5)
    assert orders.revenue_usd_micros(o) == round(24.5 * 1.1 * 1_000_000)
    assert orders.revenue_usd_micros({**o, "status": "refunded"}) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"currency": "XXX"}, "currency"),
        ({"items": []}, "items"),
        ({"status": None}, "status"),
        ({"channel": "fax"}, "channel"),
        ({"fx_rate_to_usd": 0}, "fx_rate_to_usd"),
        ({"customer_country": "germany"}, "customer_country"),
        ({"order_ts": "2026-01-05T00:00:00Z"}, "order_ts"),
    ],
)
def test_invalid_orders_name_their_field(change: dict, field: str) -> None:
    problem = orders.validate_order(samples.order(DAY, 1, **change))
    assert problem is not None and problem.field == field


@pytest.mark.parametrize(
    ("item_change", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -2}, "quantity"),
        ({"unit_price": -1.0}, "unit_price"),
        ({"discount": 999.0}, "discount"),
        ({"product_id": ""}, "product_id"),
        ({"line_no": 2}, "line_no"),
    ],
)
def test_invalid_items(item_change: dict, field: str) -> None:
    o = samples.order(DAY, 1)
    o["items"][0].update(item_change)
    problem = orders.validate_order(o)
    assert problem is not None and problem.field.endswith(field), problem


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": [{"quantity": 2**31}]}, "items[0].quantity"),
        ({"items": [{"line_no": 2**40}]}, "items[0].line_no"),
        ({"items": [{"unit_price": 1e300}]}, "items[0].unit_price"),
        ({"fx_rate_to_usd": 1e300}, "items"),
        ({"items": [{"quantity": 2**31 - 1, "unit_price": 1e12}]}, "items"),
    ],
)
def test_amounts_no_export_or_ledger_can_hold_are_invalid(change: dict, field: str) -> None:
    """Bad-input drill: a quantity beyond int32 crashed export_sales (Parquet int32), and an amount
    overflowing to infinity or past 2**63 micro-dollars crashed on_sale_written (round(inf), a
    Firestore integer); both were 'valid' orders."""
    o = samples.order(DAY, 1)
    for item_change in change.pop("items", []):
        o["items"][0].update(item_change)
    o.update(change)
    problem = orders.validate_order(o, o["order_id"])
    assert problem is not None and problem.field == field, problem
    contribution, reason = ledger.contribution_of(o, o["order_id"], DAY.isoformat())
    assert contribution.invalid_count == 1 and reason


def test_order_id_must_match_document_id() -> None:
    problem = orders.validate_order(samples.order(DAY, 1), "SO-other")
    assert problem is not None and problem.field == "order_id"


def test_order_lines_flatten_to_the_export_schema() -> None:
    from contracts.sales import SALES_LINE_SCHEMA

    rows = orders.order_lines(samples.order(DAY, 3))
    assert [r["line_no"] for r in rows] == [1, 2]
    assert list(rows[0]) == SALES_LINE_SCHEMA.names
    assert rows[1]["product_id"] == "P002" and rows[1]["order_id"] == "SO-20260105-00003"


def test_normalize_order_parses_string_timestamps() -> None:
    o = orders.normalize_order(samples.order(DAY, 1, order_ts="2026-01-05T10:00:00Z"))
    assert o["order_ts"] == datetime(2026, 1, 5, 10, tzinfo=UTC)


def test_apply_delta_moves_between_days_and_keeps_integers() -> None:
    old = Contribution("2026-01-05", 1, 1, 0, 1_500_000)
    new = Contribution("2026-01-06", 1, 0, 0, 0)
    out = ledger.apply_delta(
        {
            "2026-01-05": {
                **ledger.empty_ledger("2026-01-05"),
                "order_count": 3,
                "completed_count": 3,
                "revenue_usd_micros": 4_000_000,
            }
        },
        old,
        new,
    )
    assert out["2026-01-05"]["order_count"] == 2 and out["2026-01-05"]["revenue_usd_micros"] == 2_500_000
    assert out["2026-01-05"]["revenue_usd"] == 2.5
    assert out["2026-01-06"]["order_count"] == 1 and out["2026-01-06"]["completed_count"] == 0


def _apply(store: InMemoryDocuments, order_id: str, c: Contribution, version: datetime) -> str:
    return store.run_transaction(lambda v: ledger.record_order_version(v, order_id, c, version)).action


def test_record_order_version_is_idempotent_and_ignores_stale_versions() -> None:
    store = InMemoryDocuments()
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    v1 = Contribution("2026-01-05", 1, 1, 0, 10)
    v2 = Contribution("2026-01-05", 1, 1, 0, 25)
    assert _apply(store, "A", v1, t0) == "applied"
    assert _apply(store, "A", v1, t0) == "duplicate"
    assert _apply(store, "A", v2, t0 + timedelta(seconds=1)) == "applied"
    assert _apply(store, "A", v1, t0) == "stale"
    assert store.must("sales_ledger/2026-01-05")["revenue_usd_micros"] == 25
    assert _apply(store, "A", ledger.NOTHING, t0 + timedelta(seconds=2)) == "applied"
    doc = store.must("sales_ledger/2026-01-05")
    assert doc["order_count"] == 0 and doc["revenue_usd_micros"] == 0
    assert store.must("sales_ledger_entries/A")["deleted"] is True


def test_contribution_of_invalid_order_counts_it_without_revenue() -> None:
    c, problem = ledger.contribution_of(
        samples.order(DAY, 1, currency="XXX"), "SO-20260105-00001", "2026-01-09"
    )
    assert problem and "currency" in problem
    assert c == Contribution("2026-01-05", 0, 0, 1, 0)
    c, _ = ledger.contribution_of(samples.order(DAY, 1, order_ts=None), "SO-20260105-00001", "2026-01-09")
    assert c.day == "2026-01-09" and c.invalid_count == 1


def test_validation_flag_writes_only_on_change() -> None:
    assert ledger.validation_flag("currency: bad", None) == {"ok": False, "reason": "currency: bad"}
    assert ledger.validation_flag("currency: bad", {"ok": False, "reason": "currency: bad"}) is None
    assert ledger.validation_flag(None, {"ok": False, "reason": "x"}) == {"ok": True, "reason": None}
    assert ledger.validation_flag(None, None) is None
    assert ledger.validation_flag(None, {"ok": True, "reason": None}) is None
