"""harness/reconcile.py: the manifest's loaded and quarantined rows per flow and day."""

from __future__ import annotations

from harness.reconcile import manifest_totals


def _entry(name: str, generation: int, status: str, rows: int, **more: object) -> dict[str, object]:
    return {"name": name, "generation": generation, "flow": "clickstream", "dt": "2026-01-02"} | {
        "status": status,
        "rows": rows,
        **more,
    }


def test_a_split_file_counts_its_kept_rows_as_landed_and_its_rejects_as_quarantined() -> None:
    """Bad-input drill: once bronze keeps only the valid records of a quarantined file, the newest
    version is the loaded one; the records rejected from it must still be counted."""
    entries = [
        _entry("bronze/clickstream/dt=2026-01-02/part-00000.jsonl", 1, "quarantined", 10, rejected_rows=3),
        _entry(
            "bronze/clickstream/dt=2026-01-02/part-00000.jsonl", 2, "loaded", 7, rejected_rows=3, split_from=1
        ),
        # nothing valid in it: deleted from bronze, only its quarantined version is left
        _entry("bronze/clickstream/dt=2026-01-02/part-00001.jsonl", 3, "quarantined", 4, rejected_rows=4),
        _entry("bronze/clickstream/dt=2026-01-03/part-00000.jsonl", 4, "loaded", 9) | {"dt": "2026-01-03"},
    ]
    assert manifest_totals(entries, "clickstream", {"2026-01-02"}) == (7, 3 + 4)
    assert manifest_totals(entries, "clickstream", {"2026-01-02", "2026-01-03"}) == (16, 7)
