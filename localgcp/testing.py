"""pytest fixtures: the local Google Cloud in-process on free ports.

Enable with ``pytest_plugins = ["localgcp.testing"]`` in a conftest. ``localgcp_stack``
starts the whole stack (emulators, router, startups API and the functions) once per test
module under a temporary RILLFLOW_HOME, exports the emulator variables so the official
clients reach it, and stops it afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from localgcp.stack import LocalStack
from rillflow.settings import get_settings, load_settings


@pytest.fixture(scope="module")
def localgcp_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    saved = dict(os.environ)
    home = tmp_path_factory.mktemp("localgcp-home")
    os.environ["RILLFLOW_HOME"] = str(home)
    os.environ.setdefault("GOOGLE_CLOUD_PROJECT", "rillflow-test")
    get_settings.cache_clear()
    stack = LocalStack(load_settings(), free_ports=True)
    try:
        stack.start()
        stack.serve_control()
        os.environ.update(stack.env())
        get_settings.cache_clear()
        yield stack
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


@pytest.fixture
def localgcp_env(localgcp_stack: LocalStack) -> Iterator[dict[str, str]]:
    """The stack's environment, re-applied for a test (the autouse env fixture resets it)."""
    env = localgcp_stack.env()
    os.environ.update(env)
    get_settings.cache_clear()
    yield env
