"""pytest fixtures: the local Google Cloud in-process on free ports.

Registered for the whole suite by ``pytest_plugins`` in ``tests/conftest.py``.
``localgcp_stack`` starts the whole stack (emulators, router, Workflows, startups API and one
process per function) once per test module under a temporary RILLFLOW_HOME, exports the
emulator variables so the official clients reach it, and stops it afterwards.
:func:`running_stack` does the same for tests that need extra settings (failure drills).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.stack import LocalStack
from rillflow.settings import get_settings, load_settings


@contextmanager
def running_stack(home: Path, extra_env: dict[str, str] | None = None) -> Iterator[LocalStack]:
    saved = dict(os.environ)
    os.environ["RILLFLOW_HOME"] = str(home)
    os.environ.setdefault("GOOGLE_CLOUD_PROJECT", "rillflow-test")
    os.environ.setdefault("RILLFLOW_WORKFLOWS_TIME_SCALE", "0.02")
    os.environ.update(extra_env or {})
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


@pytest.fixture(scope="module")
def localgcp_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(tmp_path_factory.mktemp("localgcp-home")) as stack:
        yield stack


def use_stack_env(stack: LocalStack) -> dict[str, str]:
    """Re-apply the stack's environment inside a test (the autouse env fixture resets it)."""
    env = {**stack.env(), "RILLFLOW_HOME": str(stack.settings.home)}
    os.environ.update(env)
    get_settings.cache_clear()
    return env
