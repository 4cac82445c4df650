"""``rillflow dashboards build|serve``: static HTML dashboards over the warehouse's bi views."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("dashboards")
def dashboards_group() -> None:
    """Static History (pre-ML) and Predictions (ML) dashboards over the bi views."""


@dashboards_group.command("build")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="output folder [default: <RILLFLOW_HOME>/dashboards]",
)
def build_command(out_dir: Path | None) -> None:
    """Read the bi views and write index.html, history.html and predictions.html."""
    from dashboards.build import build

    for path in build(out_dir):
        click.echo(f"wrote {path}")


@dashboards_group.command("serve")
@click.option(
    "--port", type=int, default=None, help="0 picks a free port [default: the settings' dashboard port]"
)
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="folder to serve [default: <RILLFLOW_HOME>/dashboards]",
)
@click.option("--build/--no-build", "rebuild", default=True, show_default=True, help="build the pages first")
def serve_command(port: int | None, folder: Path | None, rebuild: bool) -> None:
    """Serve the dashboards on http://127.0.0.1:PORT/ until interrupted."""
    from dashboards.build import build, default_out_dir
    from dashboards.serve import make_server, url_of
    from rillflow.settings import get_settings

    folder = folder or default_out_dir()
    if rebuild:
        build(folder)
    elif not (folder / "index.html").exists():
        raise click.ClickException(f"no dashboards in {folder}: run `rillflow dashboards build` first")
    server = make_server(folder, get_settings().ports.dashboard if port is None else port)
    click.echo(f"serving {folder} on {url_of(server)}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
