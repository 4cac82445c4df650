"""``rillflow local up|down|status|env``: the local Google Cloud as a background process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click
import requests

from localgcp.stack import read_state
from rillflow.settings import get_settings


def _running_state() -> dict | None:
    state = read_state(get_settings().home)
    if not state:
        return None
    try:
        requests.get(f"{state['control']}/healthz", timeout=2).raise_for_status()
    except requests.RequestException:
        return None
    return state


@click.group("local")
def local_group() -> None:
    """Start, inspect and stop the local Google Cloud (emulators, router, functions)."""


@local_group.command("up")
@click.option("--foreground", is_flag=True, help="stay attached (Ctrl-C stops everything)")
@click.option("--no-functions", is_flag=True, help="start the emulators only")
@click.option("--timeout", default=180.0, show_default=True, help="seconds to wait until everything answers")
def up(foreground: bool, no_functions: bool, timeout: float) -> None:
    """Start everything on 127.0.0.1 and return once it answers."""
    settings = get_settings()
    if _running_state():
        click.echo(f"already running (state in {settings.home})")
        return
    args = [sys.executable, "-m", "localgcp", "serve"] + (["--no-functions"] if no_functions else [])
    if foreground:
        raise SystemExit(subprocess.call(args))
    settings.home.mkdir(parents=True, exist_ok=True)
    log = (settings.home / "localgcp.log").open("ab")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    with click.progressbar(length=int(timeout), label="starting the local Google Cloud") as bar:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise click.ClickException(
                    f"localgcp exited ({proc.returncode}); see {settings.home / 'localgcp.log'}"
                )
            if _running_state():
                break
            time.sleep(0.5)
            bar.update(1)
        else:
            proc.terminate()
            raise click.ClickException(
                f"not ready after {timeout:.0f}s; see {settings.home / 'localgcp.log'}"
            )
    click.echo(f"local Google Cloud up (pid {proc.pid}); `eval $(rillflow local env)` for a shell")


@local_group.command("down")
def down() -> None:
    """Stop the background local Google Cloud cleanly."""
    state = read_state(get_settings().home)
    if not state:
        click.echo("not running")
        return
    try:
        os.kill(int(state["pid"]), signal.SIGTERM)
    except ProcessLookupError:
        click.echo("not running (stale state removed)")
        (get_settings().home / "stack.json").unlink(missing_ok=True)
        return
    for _ in range(120):
        if read_state(get_settings().home) is None:
            break
        time.sleep(0.25)
    click.echo("stopped")


@local_group.command("status")
def status() -> None:
    """Addresses of every service and the router's counters."""
    state = _running_state()
    if not state:
        click.echo("not running: start it with `rillflow local up`")
        raise SystemExit(1)
    live = requests.get(f"{state['control']}/status", timeout=5).json()
    for name, address in live["services"].items():
        click.echo(f"{name:<12} {address}")
    for name, url in live["functions"].items():
        click.echo(f"{'fn:' + name:<28} {url}")
    click.echo(f"startups API  {live['startups_api']}")
    click.echo(f"workflows     {live['workflows']}")
    click.echo(f"router        {live['router']} pending={live['pending_events']}")


@local_group.command("env")
def env() -> None:
    """Print the `export` lines a shell needs to use the official clients against the local cloud."""
    state = _running_state()
    values = state["env"] if state else get_settings().emulator_env()
    for key, value in sorted(values.items()):
        if key.endswith("API_KEY"):
            continue
        click.echo(f"export {key}={value}")
