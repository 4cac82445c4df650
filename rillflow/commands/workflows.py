"""``rillflow workflows``: run a Workflows YAML in-process, or inspect the local service's executions."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

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

    from localgcp.workflows import DefinitionError, Execution, WorkflowError, load_workflow
    from localgcp.workflows.service import error_record

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


@workflows_group.command("list")
@click.option("--workflow", default="-", show_default=True, help="Workflow id ('-' = all).")
@click.option("--address", default=None, help="host:port of the local Workflows service.")
@click.option("--limit", default=20, show_default=True)
def list_command(workflow: str, address: str | None, limit: int) -> None:
    """List recent executions (newest first)."""
    settings = get_settings()
    parent = f"projects/{settings.project}/locations/{settings.region}/workflows/{workflow}"
    for n, execution in enumerate(_client(address).list_executions(parent=parent)):
        if n >= limit:
            break
        started = execution.start_time.isoformat() if execution.start_time else ""
        click.echo(f"{execution.state.name:<10} {started}  {execution.name}")


@workflows_group.command("describe")
@click.argument("execution_name")
@click.option("--address", default=None, help="host:port of the local Workflows service.")
def describe_command(execution_name: str, address: str | None) -> None:
    """Show one execution (its full resource name) as JSON."""
    from google.cloud.workflows.executions_v1 import Execution

    execution = _client(address).get_execution(name=execution_name)
    click.echo(Execution.to_json(execution, indent=2))
