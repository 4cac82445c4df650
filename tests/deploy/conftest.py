"""``make package``'s builder, run once per test session into a temporary ``dist/``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from rillflow.deploy.package import Manifest, build


@dataclass(frozen=True)
class Packaged:
    dist: Path
    manifest: Manifest


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    dist = tmp_path_factory.mktemp("dist")
    return Packaged(dist, build(dist))
