"""``rillflow ml``: compile the Vertex pipelines, run one as a Vertex AI PipelineJob (locally: on the
running stack's Vertex AI), list the registry, serve a model."""

from __future__ import annotations

import json
import os
from typing import Any

import click


def use_stack() -> None:
    """Reach the running local stack (its ``stack.json``'s addresses, as ``rillflow local env``
    prints them) unless they are exported already: Vertex AI is the stack's locally."""
    from harness.stack import client_env, read_state
    from rillflow.settings import get_settings

    settings = get_settings()
    state = read_state(settings.home)
    if state is not None:
        for name, value in client_env(settings, state).items():
            os.environ.setdefault(name, value)


def registry() -> Any:
    """The model registry (Vertex AI's: ``ml.registry.get_registry``), reached locally through the
    running stack (:func:`use_stack`). Without a stack there is no local Vertex AI: say so, in one line."""
    from google.auth.exceptions import DefaultCredentialsError

    from ml.registry import get_registry
    from rillflow.commands.errors import ExplainedError
    from rillflow.resources import resources
    from rillflow.settings import get_settings

    use_stack()
    settings = get_settings()
    try:
        return get_registry(settings)
    except DefaultCredentialsError as exc:
        raise ExplainedError(resources(settings).unavailable_hint.format(error=exc)) from exc


@click.group("ml")
def ml_group() -> None:
    """Vertex AI (KFP v2) pipelines, model registry and prediction serving."""


@ml_group.command("compile")
@click.option("--check", is_flag=True, help="only report pipelines whose checked-in YAML is stale (exit 1)")
def compile_command(check: bool) -> None:
    """Compile the pipelines to ml/pipelines/compiled/*.yaml."""
    from ml.pipelines.compile import compile_all, stale_pipelines

    if check:
        stale = stale_pipelines()
        if stale:
            raise click.ClickException(
                f"stale compiled pipelines: {', '.join(stale)} (run `rillflow ml compile`)"
            )
        click.echo("compiled pipelines are up to date")
        return
    for path in compile_all():
        click.echo(f"wrote {path}")


@ml_group.command("run")
@click.argument("pipeline")
@click.option("--param", "params", multiple=True, help="NAME=VALUE (JSON values parsed: true, 168, ...)")
def run_command(pipeline: str, params: tuple[str, ...]) -> None:
    """Run PIPELINE (daily_ml, churn_ml, forecast_ml) as a Vertex AI PipelineJob and wait for it.

    The compiled template (ml/pipelines/compiled/, `rillflow ml compile` refreshes it) goes through
    the Vertex AI SDK: locally to the running stack's Vertex AI (`rillflow local up`), which runs it
    with kfp.local; in the cloud to Vertex AI Pipelines."""
    from google.api_core import exceptions
    from google.auth.exceptions import DefaultCredentialsError

    from harness.stack import pipeline_job_log
    from ml.pipelines.jobs import SUCCEEDED, submit, template_path, wait
    from ml.pipelines.jobs import record as job_record
    from rillflow.commands.errors import ExplainedError
    from rillflow.resources import resources
    from rillflow.settings import get_settings

    values = {}
    for item in params:
        name, sep, raw = item.partition("=")
        if not sep:
            raise click.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--param")
        try:
            values[name] = json.loads(raw)
        except ValueError:
            values[name] = raw
    try:
        template_path(pipeline)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="PIPELINE") from None
    use_stack()
    settings = get_settings()
    try:
        job = submit(pipeline, values, settings)
    except (DefaultCredentialsError, exceptions.ServiceUnavailable) as exc:
        raise ExplainedError(resources(settings).unavailable_hint.format(error=exc)) from exc
    except ValueError as exc:  # the SDK's own checks, e.g. a parameter the pipeline does not declare
        raise click.ClickException(f"cannot submit the pipeline job: {exc}") from None
    except exceptions.GoogleAPICallError as exc:  # Vertex AI's, e.g. a value of the wrong type
        raise click.ClickException(f"Vertex AI refused the pipeline job: {exc.message}") from None
    click.echo(f"submitted {job.resource_name}; waiting for it to end", err=True)
    state = wait(job)
    record = job_record(job.gca_resource)
    log = pipeline_job_log(settings, job.resource_name)
    if log.exists():  # the local Vertex AI's log of the job (in the cloud: Cloud Logging)
        record["log"] = str(log)
    click.echo(json.dumps(record, indent=2, default=str))
    if state != SUCCEEDED:
        raise SystemExit(1)


@ml_group.group("registry")
def registry_group() -> None:
    """The model registry of this environment (picked by rillflow.resources: local or Vertex)."""


@registry_group.command("list")
@click.option("--model", "model_name", default=None, help="only this model")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def registry_list(model_name: str | None, as_json: bool) -> None:
    """Show model versions, their aliases, key metrics and lineage."""
    from rich.console import Console
    from rich.table import Table

    versions = registry().list_versions(model_name)
    if as_json:
        click.echo(json.dumps([v.to_dict() for v in versions], indent=2, default=str))
        return
    if not versions:
        from rillflow.commands.history import first_model_hint
        from rillflow.settings import get_settings

        click.echo(f"no model versions yet: {first_model_hint(get_settings(), model_name)}")
        return
    table = Table(title="model registry")
    for col in ("model", "version", "aliases", "metrics", "training data", "created_at", "artifact_uri"):
        table.add_column(col)
    for v in versions:
        metrics = ", ".join(
            f"{k}={val:.4g}"
            for k, val in v.metrics.items()
            if k in ("roc_auc", "pr_auc", "brier", "backtest_smape", "backtest_mase")
        )
        lineage = f"{v.lineage.get('table', '')}@{v.lineage.get('as_of', '')} ({v.lineage.get('row_count', '?')} rows)"
        table.add_row(
            v.model_name, v.version, ",".join(v.aliases), metrics, lineage, v.created_at, v.artifact_uri
        )
    Console().print(table)


@ml_group.command("serve")
@click.option("--model", "model_name", default="churn_classifier", show_default=True)
@click.option("--alias", default="champion", show_default=True)
@click.option("--port", type=int, default=None, help="default: the settings' prediction port")
def serve_command(model_name: str, alias: str, port: int | None) -> None:
    """Serve a registered model with the Vertex prediction contract on 127.0.0.1."""
    from ml.serving.server import server_from_env
    from rillflow.commands.errors import NoModelYet
    from rillflow.settings import get_settings

    models = registry()
    version = models.get(model_name, alias=alias)
    if version is None:
        existing = models.list_versions(model_name)
        if not existing:
            raise NoModelYet(model_name, alias)
        aliases = sorted({a for v in existing for a in v.aliases}) or ["none"]
        raise click.ClickException(
            f"model {model_name!r} has no version with alias {alias!r} (its aliases: {', '.join(aliases)}); "
            "choose one with --alias"
        )
    os.environ["AIP_STORAGE_URI"] = version.artifact_uri
    os.environ["AIP_HTTP_PORT"] = str(port or get_settings().ports.prediction)
    server = server_from_env()
    host, bound = server.address
    click.echo(
        f"serving {model_name} v{version.version} on http://{host}:{bound} (predict: {server.predict_route})"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
