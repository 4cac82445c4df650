"""Counts reconcile: for each batch flow, what the generators produced against what landed in
the lake (the manifest's loaded rows) plus what was set aside (quarantined rows, invalid orders).

Reads only through the official clients and the lake's plain-file mirror, so it works against
a stack started here or by ``rillflow local up``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pyarrow.parquet as pq
from google.cloud import firestore  # type: ignore[attr-defined]

from rillflow.settings import Settings

MANIFEST = "load_manifest"


@dataclass(frozen=True)
class FlowCount:
    flow: str
    generated: int
    landed: int
    quarantined: int

    @property
    def ok(self) -> bool:
        return self.generated == self.landed + self.quarantined

    def line(self) -> str:
        mark = "OK" if self.ok else "MISMATCH"
        return (
            f"{self.flow:<12} generated={self.generated:>8,}  landed={self.landed:>8,}  "
            f"quarantined={self.quarantined:>6,}  {mark}"
        )


def latest_manifest_entries(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per object name: its newest generation (a re-export replaces the older one)."""
    newest: dict[str, dict[str, Any]] = {}
    for entry in entries:
        name = entry["name"]
        if name not in newest or int(entry["generation"]) > int(newest[name]["generation"]):
            newest[name] = entry
    return list(newest.values())


def manifest_totals(entries: Iterable[dict[str, Any]], flow: str, days: set[str]) -> tuple[int, int]:
    """(rows loaded, rows quarantined) of the objects' newest versions. A version that keeps the
    valid records of a quarantined one (``on_bronze_object_finalized`` split it) brings the count
    of the records rejected from it (``rejected_rows``)."""
    loaded = quarantined = 0
    for entry in latest_manifest_entries(e for e in entries if e.get("flow") == flow and e.get("dt") in days):
        if entry["status"] == "loaded":
            loaded += int(entry["rows"])
            quarantined += int(entry.get("rejected_rows") or 0)
        else:
            quarantined += int(entry["rows"])
    return loaded, quarantined


def _sales_orders(settings: Settings, days: Iterable[str]) -> tuple[int, int]:
    """Orders in the exported Parquet (distinct order ids) and orders set aside as invalid."""
    exported = invalid = 0
    for dt in days:
        folder = settings.lake_dir / "bronze" / "sales" / f"dt={dt}"
        for path in sorted(folder.glob("*.parquet")):
            exported += len(set(pq.read_table(path, columns=["order_id"]).column("order_id").to_pylist()))
        side = settings.lake_dir / "quarantine" / "sales_orders" / f"dt={dt}" / "invalid-orders.jsonl"
        if side.exists():
            invalid += sum(1 for line in side.read_text().splitlines() if line.strip())
    return exported, invalid


def _app_events(settings: Settings, days: Iterable[str]) -> tuple[int, int]:
    """Event rows in the lake and dead-lettered events (undecodable, invalid or late)."""
    landed = dead = 0
    for dt in days:
        for path in sorted((settings.lake_dir / "lake" / "app_events" / f"dt={dt}").glob("*.parquet")):
            landed += pq.ParquetFile(path).metadata.num_rows
        for path in sorted((settings.lake_dir / "deadletter" / "app_events" / f"dt={dt}").glob("*.jsonl")):
            dead += sum(1 for line in path.read_text().splitlines() if line.strip())
    return landed, dead


def reconcile(
    settings: Settings, first_day: date, days: int, totals: dict[str, dict[str, float]]
) -> list[FlowCount]:
    """``totals`` are the replay's per-function sums of what each generating function reported."""
    day_set = {(first_day + timedelta(days=i)).isoformat() for i in range(days)}
    # startups files carry their run date (the morning after the last replayed day included)
    run_days = {(first_day + timedelta(days=i + 1)).isoformat() for i in range(days)}
    client = firestore.Client(project=settings.project)
    entries = [e for doc in client.collection(MANIFEST).stream() if (e := doc.to_dict()) is not None]
    clicks = manifest_totals(entries, "clickstream", day_set)
    startups = manifest_totals(entries, "startups", run_days)
    exported, invalid = _sales_orders(settings, sorted(day_set))
    counts = [
        FlowCount("sales", int(totals.get("generate_sales", {}).get("orders", 0)), exported, invalid),
        FlowCount("clickstream", int(totals.get("generate_clickstream", {}).get("rows", 0)), *clicks),
        FlowCount("startups", int(totals.get("ingest_startups", {}).get("rows", 0)), *startups),
    ]
    published = int(totals.get("publish_app_events", {}).get("events", 0))
    if published:
        counts.append(FlowCount("app_events", published, *_app_events(settings, sorted(day_set))))
    return counts
