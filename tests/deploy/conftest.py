"""``make package``'s builder, run once per test session into a temporary ``dist/``."""

from __future__ import annotations

import pytest

from rillflow.deploy.package import build
from tests.support.deploy import Packaged


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    dist = tmp_path_factory.mktemp("dist")
    return Packaged(dist, build(dist))
