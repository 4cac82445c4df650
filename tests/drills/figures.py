"""What each drill measured, appended as JSON lines to ``$RILLFLOW_DRILLS_RESULTS`` when set.

``RILLFLOW_DRILLS_FULL=1`` selects the full volumes; the default volumes are small enough for
``make test``. :mod:`tests.drills.report` runs the drills and turns the lines into the table.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FULL_ENV = "RILLFLOW_DRILLS_FULL"
RESULTS_ENV = "RILLFLOW_DRILLS_RESULTS"
_WRITE_LOCK = threading.Lock()


def full() -> bool:
    return os.environ.get(FULL_ENV, "") not in ("", "0")


def volume(small: int, large: int) -> int:
    return large if full() else small


@dataclass
class Figures:
    drill: str
    volume: str
    duration_s: float = 0.0
    lost: int = 0
    doubled: int = 0
    duplicates_delivered: int = 0
    #: processes the drill killed with SIGKILL (crash drills)
    killed: int = 0
    #: malformed records the drill fed the platform (the bad-input drill)
    bad_records: int = 0
    crashes: int = 0
    throughput: float = 0.0
    throughput_unit: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    test: str = ""
    outcome: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def write(figures: Figures) -> None:
    """Append one drill's figures to the results file named by ``RILLFLOW_DRILLS_RESULTS``."""
    target = os.environ.get(RESULTS_ENV)
    if not target:
        return
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _WRITE_LOCK, path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(figures.to_json(), sort_keys=True) + "\n")
