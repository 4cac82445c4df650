"""``python -m bench [--only PREFIX]``: run the benchmarks, print a table, write .bench/results.json."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import bench
from bench import BENCHMARKS, Result

RESULTS = Path(".bench/results.json")


def _discover() -> None:
    for mod in pkgutil.iter_modules(bench.__path__):
        if mod.name.startswith("bench_"):
            importlib.import_module(f"bench.{mod.name}")


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", default="", help="run only ids starting with this prefix (several: comma-separated)"
    )
    args = parser.parse_args(argv)
    _discover()
    prefixes = tuple(p.strip() for p in args.only.split(",")) or ("",)
    selected = sorted(b for b in BENCHMARKS if b.startswith(prefixes))
    if not selected:
        print(f"no benchmark id starts with {args.only!r}; known: {', '.join(sorted(BENCHMARKS))}")
        return 2
    console = Console(width=max(Console().width, 140))
    results: dict[str, Result] = {}
    for bench_id in selected:
        console.print(f"[bold]running[/] {bench_id} …")
        t0 = time.perf_counter()
        results[bench_id] = BENCHMARKS[bench_id]()
        console.print(f"  done in {time.perf_counter() - t0:.1f}s")
    table = Table(title="Rillflow benchmarks")
    for col in ("id", "value", "unit", "reference", "ratio", "note"):
        table.add_column(col, justify="right" if col in ("value", "reference", "ratio") else "left")
    for bench_id, r in results.items():
        table.add_row(bench_id, _fmt(r.value), r.unit, _fmt(r.reference), _fmt(r.ratio), r.note)
        for name, (value, unit) in r.details.items():
            table.add_row(f"  {name}", _fmt(value), unit, "", "", "")
    console.print(table)
    RESULTS.parent.mkdir(exist_ok=True)
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for bench_id, r in results.items():
        stored[bench_id] = {"value": r.value, "unit": r.unit, "reference": r.reference, "ratio": r.ratio}
    RESULTS.write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
