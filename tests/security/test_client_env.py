"""A client of a running stack gets the startups API key from its 0600 file, not from stack.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.stack import API_KEY_FILE, client_env
from rillflow.settings import get_settings


def test_the_key_comes_from_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RILLFLOW_HOME", str(tmp_path))
    get_settings.cache_clear()
    settings = get_settings()
    state = {"env": {"PUBSUB_EMULATOR_HOST": "127.0.0.1:1"}}
    assert settings.startups_api_key_env not in client_env(settings, state)
    (tmp_path / API_KEY_FILE).write_text("k-123\n")
    env = client_env(settings, state)
    assert env[settings.startups_api_key_env] == "k-123"
    assert env["PUBSUB_EMULATOR_HOST"] == "127.0.0.1:1" and "STARTUPS_API_KEY" not in state["env"]
    get_settings.cache_clear()
