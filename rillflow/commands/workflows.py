"""``rillflow workflows``: run a Workflows YAML in-process, or inspect the local service's executions."""

from __future__ import annotations

import itertools
import json
import sys
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from rillflow.settings import get_settings


@click.group("workflows")
def workflows_group() -> None:
    """Cloud Workflows, locally: run YAML directly or query the local Executions service."""


def _parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--env")
        env[key] = value
    return env


@workflows_group.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--data", default=None, help="The execution argument, as JSON.")
@click.option("--env", "env_pairs", multiple=True, help="A user env var KEY=VALUE (repeatable).")
@click.option("--time-scale", default=1.0, show_default=True, help="Multiplier for sys.sleep and backoffs.")
def run_command(file: str, data: str | None, env_pairs: tuple[str, ...], time_scale: float) -> None:
    """Execute FILE in this process and print its result as JSON."""
    from pathlib import Path

    from localgcp.services.workflows import DefinitionError, Execution, WorkflowError, load_workflow
    from localgcp.services.workflows.service import error_record

    try:
        argument: Any = json.loads(data) if data else None
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--data") from None
    settings = get_settings()
    try:
        workflow = load_workflow(file)
    except DefinitionError as exc:
        raise click.ClickException(str(exc)) from None
    env = {
        "GOOGLE_CLOUD_PROJECT_ID": settings.project,
        "GOOGLE_CLOUD_LOCATION": settings.region,
        "GOOGLE_CLOUD_WORKFLOW_ID": Path(file).stem,
        "GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID": "local-run",
        **_parse_env(env_pairs),
    }
    execution = Execution(workflow, env=env, time_scale=time_scale)
    try:
        result = execution.run(argument)
    except WorkflowError as exc:
        click.echo(json.dumps(error_record(exc), indent=2), err=True)
        sys.exit(1)
    click.echo(json.dumps(result, indent=2, default=str))


def _client(address: str | None) -> Any:
    from rillflow.workflows_client import executions_client

    return executions_client(address or get_settings().emulator_host("workflows"))


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def run_date(execution: Any) -> str:
    """The ``date`` argument of the execution (the day a daily pipeline processes), if any."""
    argument = _json(execution.argument)
    return str(argument["date"]) if isinstance(argument, dict) and "date" in argument else ""


def _seconds(value: float) -> str:
    return f"{value:.1f}s" if value < 120 else f"{value / 60:.1f}min"


def duration(execution: Any, now: datetime) -> str:
    if execution.end_time:
        return _seconds(execution.duration.total_seconds())
    return f"{_seconds((now - execution.start_time).total_seconds())} so far" if execution.start_time else ""


def steps(execution: Any) -> str:
    """The step timings a workflow returns (``timings: {<step>_s: seconds}``, as the daily pipeline
    does), where a failed execution stopped, or the step a running one is at: all from the API."""
    result = _json(execution.result)
    timings = result.get("timings") if isinstance(result, dict) else None
    if isinstance(timings, dict) and timings:
        return ", ".join(
            f"{name.removesuffix('_s')} {_seconds(float(value))}"
            for name, value in timings.items()
            if isinstance(value, int | float)
        )
    if execution.error and execution.error.stack_trace.elements:
        where = execution.error.stack_trace.elements[0]  # innermost frame first, as Google's
        reason = execution.error.context.splitlines()[0] if execution.error.context else ""
        reason = reason if len(reason) <= 80 else reason[:79] + "…"
        return f"failed in step {where.step} ({where.routine}): {reason}"
    if execution.status.current_steps:
        return "at step " + ", ".join(step.step for step in execution.status.current_steps)
    return ""


def executions_table(executions: list[Any], now: datetime) -> Table:
    table = Table(title="Workflows executions (newest first)")
    table.add_column("execution id", no_wrap=True)
    table.add_column("workflow")
    table.add_column("run date", no_wrap=True)
    table.add_column("state")
    table.add_column("start (UTC)", no_wrap=True)
    table.add_column("duration", justify="right", no_wrap=True)
    table.add_column("step timings")
    style = {"SUCCEEDED": "green", "FAILED": "red", "CANCELLED": "yellow", "ACTIVE": "cyan"}
    for execution in executions:
        parts = execution.name.split("/")
        state = execution.state.name
        started = execution.start_time.strftime("%Y-%m-%d %H:%M:%S") if execution.start_time else ""
        table.add_row(
            parts[-1],
            parts[-3],
            run_date(execution),
            f"[{style.get(state, 'default')}]{state}[/]",
            started,
            duration(execution, now),
            steps(execution),
        )
    return table


@workflows_group.command("list")
@click.option("--workflow", default="-", show_default=True, help="Workflow id ('-' = all).")
@click.option("--address", default=None, help="host:port of the local Workflows service.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
def list_command(workflow: str, address: str | None, limit: int) -> None:
    """List recent executions (newest first): run date, state, duration and step timings."""
    from google.cloud.workflows.executions_v1.types import ExecutionView, ListExecutionsRequest

    settings = get_settings()
    parent = f"projects/{settings.project}/locations/{settings.region}/workflows/{workflow}"
    request = ListExecutionsRequest(parent=parent, view=ExecutionView.FULL, page_size=min(limit, 100))
    executions = list(itertools.islice(_client(address).list_executions(request=request), limit))
    if not executions:
        click.echo("no executions yet: `rillflow run` starts the daily pipeline once per replayed day")
        return
    console = Console()
    if not console.is_terminal:  # piped or captured: do not squeeze the table into 80 columns
        console = Console(width=200)
    console.print(executions_table(executions, datetime.now(UTC)))
    console.print("details of one: rillflow workflows describe EXECUTION_ID", markup=False)


@workflows_group.command("describe")
@click.argument("execution")
@click.option("--address", default=None, help="host:port of the local Workflows service.")
def describe_command(execution: str, address: str | None) -> None:
    """Show one execution as JSON: EXECUTION is its id (from `list`) or its full resource name."""
    from google.cloud.workflows.executions_v1 import Execution

    client = _client(address)
    if "/" not in execution:
        settings = get_settings()
        parent = f"projects/{settings.project}/locations/{settings.region}/workflows/-"
        matches = [e.name for e in client.list_executions(parent=parent) if e.name.endswith("/" + execution)]
        if not matches:
            raise click.BadParameter(f"no execution with id {execution!r}", param_hint="EXECUTION")
        execution = matches[0]
    click.echo(Execution.to_json(client.get_execution(name=execution), indent=2))
