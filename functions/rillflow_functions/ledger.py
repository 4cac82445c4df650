"""The daily sales ledger kept by ``on_sale_written``, idempotent under redelivery.

Each order's contribution (counts and micro-USD revenue, for one UTC day) is remembered in
``sales_ledger_entries/{order_id}`` together with the document version it came from. A written
event replaces the order's old contribution by its new one inside one transaction, so:

* a redelivered event finds its contribution already there and changes nothing;
* an updated order moves the ledger by the difference (also across days if ``order_ts`` moved);
* a delete withdraws the order's contribution;
* an event older than the recorded version (out-of-order redelivery) is ignored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from rillflow_functions import orders
from rillflow_functions.ports import TransactionView

LEDGER = "sales_ledger"
ENTRIES = "sales_ledger_entries"
_COUNTERS = ("order_count", "completed_count", "invalid_count", "revenue_usd_micros")


@dataclass(frozen=True)
class Contribution:
    day: str | None
    order_count: int = 0
    completed_count: int = 0
    invalid_count: int = 0
    revenue_usd_micros: int = 0

    def counters(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in _COUNTERS}


NOTHING = Contribution(day=None)


def contribution_of(
    order: dict[str, Any] | None, order_id: str, fallback_day: str
) -> tuple[Contribution, str | None]:
    """What an order adds to its day's ledger, and why it is invalid (None when valid)."""
    if order is None:
        return NOTHING, None
    problem = orders.validate_order(order, order_id)
    day = orders.order_day(order) or fallback_day
    if problem is not None:
        return Contribution(day=day, invalid_count=1), str(problem)
    completed = order["status"] == "completed"
    return (
        Contribution(
            day=day,
            order_count=1,
            completed_count=int(completed),
            revenue_usd_micros=orders.revenue_usd_micros(order),
        ),
        None,
    )


def empty_ledger(day: str) -> dict[str, Any]:
    return {"day": day, **dict.fromkeys(_COUNTERS, 0), "revenue_usd": 0.0}


def apply_delta(
    ledgers: dict[str, dict[str, Any]], old: Contribution, new: Contribution
) -> dict[str, dict[str, Any]]:
    """New ledger documents for the days touched when ``old`` is replaced by ``new``."""
    out = {day: dict(doc) for day, doc in ledgers.items()}
    for contribution, sign in ((old, -1), (new, 1)):
        if contribution.day is None:
            continue
        doc = out.setdefault(contribution.day, empty_ledger(contribution.day))
        for name, value in contribution.counters().items():
            doc[name] = int(doc.get(name, 0)) + sign * value
    for doc in out.values():
        doc["revenue_usd"] = round(doc["revenue_usd_micros"] / 1_000_000, 6)
    return out


@dataclass(frozen=True)
class LedgerOutcome:
    action: str  # "applied" | "duplicate" | "stale"
    days: tuple[str, ...]


def _entry_contribution(entry: dict[str, Any] | None) -> Contribution:
    if not entry:
        return NOTHING
    return Contribution(day=entry.get("day"), **{k: int(entry.get(k, 0)) for k in _COUNTERS})


def record_order_version(
    view: TransactionView, order_id: str, new: Contribution, version: datetime
) -> LedgerOutcome:
    """Transaction body: replace the order's recorded contribution by ``new`` (reads, then writes)."""
    entry_path = f"{ENTRIES}/{order_id}"
    entry = view.get(entry_path)
    if entry is not None and entry.get("version") is not None:
        recorded: datetime = entry["version"]
        if recorded > version:
            return LedgerOutcome("stale", ())
        old = _entry_contribution(entry)
        if recorded == version and old == new:
            return LedgerOutcome("duplicate", ())
    old = _entry_contribution(entry)
    if old == new:
        view_days: tuple[str, ...] = ()
        ledgers: dict[str, dict[str, Any]] = {}
    else:
        view_days = tuple(sorted({d for d in (old.day, new.day) if d is not None}))
        ledgers = {}
        for day in view_days:
            ledgers[day] = view.get(f"{LEDGER}/{day}") or empty_ledger(day)
        for day, doc in apply_delta(ledgers, old, new).items():
            view.set(f"{LEDGER}/{day}", doc)
    view.set(entry_path, {**asdict(new), "order_id": order_id, "version": version, "deleted": new == NOTHING})
    return LedgerOutcome("applied", view_days)


def validation_flag(problem: str | None, current: Any) -> dict[str, Any] | None:
    """The ``validation`` field to write on the order, or None when it is already right.

    Only invalid orders are flagged; a flag is cleared (``ok: true``) once the order is fixed.
    Writing only on change ends the loop our own write would otherwise start (it triggers us again).
    """
    if problem is not None:
        wanted: dict[str, Any] = {"ok": False, "reason": problem}
    elif isinstance(current, dict) and current.get("ok") is False:
        wanted = {"ok": True, "reason": None}
    else:
        return None
    return None if current == wanted else wanted
