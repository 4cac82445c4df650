"""`rillflow dashboards build|serve`, and the server the browser test uses."""

from __future__ import annotations

import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from dashboards.serve import serving
from rillflow.cli import main
from rillflow.settings import get_settings


@pytest.fixture
def home_with_warehouse(warehouses: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """RILLFLOW_HOME whose warehouse is a copy of the session's full warehouse."""
    home = Path(get_settings().home)
    home.mkdir(parents=True, exist_ok=True)
    get_settings().warehouse_path.write_bytes(warehouses["full"].read_bytes())
    return home


def test_build_prints_the_paths_written(home_with_warehouse: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["dashboards", "build", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"wrote {tmp_path / 'out' / name}" for name in ("index.html", "history.html", "predictions.html")
    ]
    default = CliRunner().invoke(main, ["dashboards", "build"])
    assert default.exit_code == 0, default.output
    assert f"wrote {home_with_warehouse / 'dashboards' / 'history.html'}" in default.output


def test_serve_binds_loopback_and_prints_the_url(
    home_with_warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, int]] = []

    def fake_serve_forever(self: ThreadingHTTPServer, poll_interval: float = 0.5) -> None:
        seen.append(self.server_address[:2])  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(ThreadingHTTPServer, "serve_forever", fake_serve_forever)
    result = CliRunner().invoke(main, ["dashboards", "serve", "--port", "0"])
    assert result.exit_code == 0, result.output
    host, port = seen[0]
    assert host == "127.0.0.1" and port > 0
    assert f"on http://127.0.0.1:{port}/" in result.output
    assert (home_with_warehouse / "dashboards" / "index.html").exists()  # built first


def test_serve_without_pages_and_no_build_fails_clearly(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["dashboards", "serve", "--no-build", "--dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "run `rillflow dashboards build` first" in result.output


def test_serving_returns_the_pages(pages: Path) -> None:
    with serving(pages) as url:
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "predictions.html", timeout=10) as response:
            assert response.status == 200
            assert b'data-chart="bi_app_forecast_vs_actual"' in response.read()
