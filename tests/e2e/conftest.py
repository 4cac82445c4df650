"""The replay the end-to-end comparisons share (``tests.support.replayed``), run once per session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.replayed import replay_once


@pytest.fixture(scope="session")
def replayed_once(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return replay_once(tmp_path_factory.mktemp("replayed-once"))
