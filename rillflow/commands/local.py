"""``rillflow local up|down|status|env``: the local Google Cloud as a background process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import requests

from harness.stack import read_state
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


#: what a child process of the stack runs (``/proc/<pid>/cmdline``), to know a leftover by
LEFTOVER_MARKS = (b"fake-gcs-server", b"functions-framework", b"streaming.pipeline")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_leftovers(state: dict) -> list[int]:
    """After ``python -m harness serve`` died without stopping (SIGKILL, OOM): end the child
    processes its state file lists that still run (fake-gcs-server keeps running; a function or a
    drain dies with its parent), so a new stack starts clean. A pid counts only while its command
    line is still one of the stack's (a pid the system gave to something else is left alone)."""
    ended = []
    for row in state.get("processes") or []:
        pid = row.get("pid")
        if row.get("kind") != "process" or not pid or pid == state.get("pid"):
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if any(mark in cmdline for mark in LEFTOVER_MARKS):
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                continue
            ended.append(int(pid))
    return ended


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
    stale = read_state(settings.home)
    if stale and not _alive(int(stale["pid"])):
        ended = end_leftovers(stale)
        (settings.home / "stack.json").unlink(missing_ok=True)
        click.echo(
            f"the last stack (pid {stale['pid']}) died; ended what it left running: {ended or 'nothing'}"
        )
    args = [sys.executable, "-m", "harness", "serve"] + (["--no-functions"] if no_functions else [])
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
        end_leftovers(state)
        click.echo("not running (stale state removed)")
        (get_settings().home / "stack.json").unlink(missing_ok=True)
        return
    for _ in range(120):
        if read_state(get_settings().home) is None:
            break
        time.sleep(0.25)
    click.echo("stopped")


@local_group.command("status")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="every process of the stack (name, kind, pid, port, state, restarts) and the router's counters, as JSON",
)
def status(as_json: bool) -> None:
    """Addresses of every service and the router's counters."""
    state = _running_state()
    if not state:
        if as_json:
            click.echo(json.dumps({"running": False, "processes": []}))
        else:
            click.echo("not running: start it with `rillflow local up`")
        raise SystemExit(1)
    live = requests.get(f"{state['control']}/status", timeout=5).json()
    if as_json:
        keys = ("project", "home", "control", "processes", "router", "pending_events", "paused_triggers")
        click.echo(json.dumps({"running": True, **{k: live.get(k) for k in keys}}, indent=2))
        return
    for row in live.get("processes", []):
        if row["kind"] == "process" or row["state"] != "up":
            where = f"port {row['port']}" if row.get("port") else ""
            restarts = f"restarts={row['restarts']}" if row.get("restarts") else ""
            click.echo(
                f"{row['name']:<28} pid {row['pid'] or '-':<8} {row['state']:<5} {where} {restarts}".rstrip()
            )
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
