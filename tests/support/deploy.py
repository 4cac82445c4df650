"""What ``make package``'s builder produced: the ``packaged`` fixture (``tests/deploy/conftest.py``) returns one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rillflow.deploy.package import Manifest


@dataclass(frozen=True)
class Packaged:
    dist: Path
    manifest: Manifest
