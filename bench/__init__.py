"""Benchmarks: each ``bench/bench_*.py`` registers ids with :func:`benchmark`.

A benchmark returns a :class:`Result`: its figure, the unit, and a reference measured
in the same run (so the figure reads as a ratio, not as a machine-dependent number).
``python -m bench [--only PREFIX]`` runs them, prints one table and merges the figures
into ``.bench/results.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["BENCHMARKS", "Result", "benchmark"]


@dataclass
class Result:
    value: float
    unit: str
    reference: float | None = None
    #: value / reference unless the benchmark defines it otherwise (say so in ``note``)
    ratio: float | None = None
    note: str = ""
    #: extra rows worth printing (e.g. per-action timings); name -> (value, unit)
    details: dict[str, tuple[float, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ratio is None and self.reference:
            self.ratio = self.value / self.reference


BENCHMARKS: dict[str, Callable[[], Result]] = {}


def benchmark(bench_id: str) -> Callable[[Callable[[], Result]], Callable[[], Result]]:
    """Register a zero-argument function returning a :class:`Result` under ``bench_id``."""

    def register(fn: Callable[[], Result]) -> Callable[[], Result]:
        if bench_id in BENCHMARKS:
            raise ValueError(f"benchmark id registered twice: {bench_id}")
        BENCHMARKS[bench_id] = fn
        return fn

    return register
