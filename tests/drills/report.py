"""Run the load drills and print their table: ``python -m tests.drills.report [--small] [pytest args]``.

Full volumes unless ``--small``; the figures go to ``.drills/results.json`` (and the table to
stdout). Exit status: pytest's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.drills.figures import FULL_ENV, RESULTS_ENV

OUT = Path(".drills") / "results.json"
COLUMNS = (
    ("drill", "drill"),
    ("volume", "volume"),
    ("bad records", "bad_records"),
    ("duration", "duration_s"),
    ("lost", "lost"),
    ("doubled", "doubled"),
    ("dup. delivered", "duplicates_delivered"),
    ("killed", "killed"),
    ("crashes", "crashes"),
    ("throughput", "throughput"),
    ("result", "outcome"),
)


def _cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key, "")
    if key == "bad_records" and not value:
        return ""  # a drill that tried none (every drill but the bad-input one)
    if key == "duration_s":
        return f"{value:.1f} s"
    if key == "throughput":
        return f"{value:,.0f} {row.get('throughput_unit', '')}".strip()
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the drills' figures (as the README shows it)."""
    cells = [[_cell(row, key) for _, key in COLUMNS] for row in rows]
    widths = [max([len(title)] + [len(c[i]) for c in cells]) for i, (title, _) in enumerate(COLUMNS)]
    numeric = {i for i, (_, key) in enumerate(COLUMNS) if key not in ("drill", "volume", "outcome")}

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if i in numeric else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    rule = (
        "|"
        + "|".join(("-" * (w + 1) + ":") if i in numeric else "-" * (w + 2) for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line([t for t, _ in COLUMNS]), rule, *(line(c) for c in cells)])


def main(argv: list[str]) -> int:
    small = "--small" in argv
    pytest_args = [a for a in argv if a != "--small"]
    with tempfile.TemporaryDirectory(prefix="rillflow-drills-") as tmp:
        lines = Path(tmp) / "figures.jsonl"
        env = {**os.environ, RESULTS_ENV: str(lines), FULL_ENV: "0" if small else "1"}
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "drills",
            "tests/drills",
        ]
        started = datetime.now(UTC)
        rc = subprocess.run([*command, *pytest_args], env=env, check=False).returncode
        rows = [json.loads(x) for x in lines.read_text().splitlines()] if lines.exists() else []
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "started": started.isoformat(timespec="seconds"),
                "volumes": "small" if small else "full",
                "pytest_exit_status": rc,
                "drills": rows,
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )
    print()
    print(table(rows) if rows else "no drill reported any figures")
    print(f"\n{len(rows)} drills, {'small' if small else 'full'} volumes; figures in {OUT}")
    return rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
