"""``rillflow dashboards serve``: binds 127.0.0.1, prints the URL, and the old build command is gone."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.serving import BaseWSGIServer

from rillflow.cli import main
from tests.dashboards.running import RunningApp


def test_serve_binds_loopback_and_prints_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []

    def fake_serve_forever(self: BaseWSGIServer, poll_interval: float = 0.5) -> None:
        seen.append((self.host, self.server_port))
        raise KeyboardInterrupt

    monkeypatch.setattr(BaseWSGIServer, "serve_forever", fake_serve_forever)
    result = CliRunner().invoke(main, ["dashboards", "serve", "--port", "0"])
    assert result.exit_code == 0, result.output
    host, port = seen[0]
    assert host == "127.0.0.1" and port > 0
    assert f"dashboards on http://127.0.0.1:{port}/" in result.output


def test_there_is_no_build_command() -> None:
    result = CliRunner().invoke(main, ["dashboards", "build"])
    assert result.exit_code != 0 and "No such command" in result.output


def test_the_running_app_serves_its_own_scripts(app: RunningApp) -> None:
    """The page names only scripts the app serves itself (Dash's bundles, from the package)."""
    with urllib.request.urlopen(app.url, timeout=10) as response:
        html = response.read().decode()
    assert "<title>Rillflow dashboards</title>" in html
    scripts = [s.split('"')[1] for s in html.split("<script src=")[1:]]
    assert scripts and all(s.startswith("/_dash-component-suites/") for s in scripts), scripts
    with urllib.request.urlopen(app.url + "healthz", timeout=10) as response:
        assert response.read() == b"ok"


def test_old_generator_is_gone() -> None:
    root = Path(__file__).resolve().parents[2] / "dashboards"
    assert not [p.name for p in root.glob("*.py") if p.stem in {"build", "html", "charts"}]


@pytest.mark.service  # starts the app as the demo does
def test_the_demo_starts_the_app_beside_it_and_stops_it(
    warehouses: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rillflow.commands.demo import start_dashboards, stop_dashboards
    from rillflow.settings import get_settings
    from tests.dashboards.running import free_port

    monkeypatch.setenv("RILLFLOW_PORT_DASHBOARD", str(free_port()))
    get_settings.cache_clear()
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    settings.warehouse_path.write_bytes(warehouses["full"].read_bytes())
    child, url = start_dashboards(settings)
    try:
        assert child is not None and url == f"http://127.0.0.1:{settings.ports.dashboard}/"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert child.poll() is None and time.monotonic() < deadline, "the demo's app did not start"
                time.sleep(0.2)
    finally:
        stop_dashboards(child)
    assert child.poll() is not None
    assert (settings.home / "logs" / "dashboards.log").exists()
