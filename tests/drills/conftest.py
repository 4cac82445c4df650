"""The ``drill`` fixture: a :class:`Figures` the test fills in, written out with the test's outcome."""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.drills.figures import Figures, write

#: ``functions/`` importable the way Cloud Functions imports it (as tests/functions does)
FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
if str(FUNCTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(FUNCTIONS_DIR))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    setattr(item, f"drill_report_{report.when}", report)
    return report


@pytest.fixture
def drill(request: pytest.FixtureRequest) -> Iterator[Figures]:
    figures = Figures(drill=request.node.name, volume="")
    yield figures
    report = getattr(request.node, "drill_report_call", None)
    figures.test = request.node.nodeid
    figures.outcome = report.outcome if report is not None else "error"
    if figures.outcome != "passed" and figures.crashes == 0 and not figures.details.get("checked"):
        figures.crashes = 1  # the drill itself broke before it could count anything
    print(f"\n{figures.drill}: {figures.to_json()}")
    write(figures)
