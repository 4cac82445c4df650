"""``rillflow dataform compile|run`` and ``rillflow sql``: thin click front-ends over harness.dataform."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

DEFAULT_PROJECT = Path("dataform")


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected k=v, got {pair!r}", param_hint="--vars")
        out[key.strip()] = value
    return out


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def default_run_date() -> tuple[str, str]:
    """``run_date`` when none is given: the day the local stack replayed last, else today; and why."""
    from datetime import UTC, datetime

    from rillflow.commands.history import replayed
    from rillflow.settings import get_settings

    history = replayed(get_settings())
    if history is not None:
        return history.latest.isoformat(), "the day the local stack replayed last"
    return datetime.now(UTC).date().isoformat(), "today (UTC): no replayed day is recorded"


@click.group("dataform")
def dataform_group() -> None:
    """Compile and run the Dataform project locally (real CLI compile, DuckDB execution)."""


@dataform_group.command("compile")
@click.option(
    "--project-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_PROJECT,
    show_default=True,
)
@click.option("--vars", "var_pairs", multiple=True, help="k=v, repeatable")
@click.option("--json", "as_json", is_flag=True, help="print the compiled graph as JSON")
def compile_command(project_dir: Path, var_pairs: tuple[str, ...], as_json: bool) -> None:
    """Compile with `dataform compile --json` and summarise the graph."""
    from harness.dataform import compile_project
    from rillflow.settings import get_settings

    settings = get_settings()
    compiled = compile_project(
        project_dir, {"lake_bucket": settings.lake_bucket, **_parse_vars(var_pairs)}, settings.project
    )
    if as_json:
        click.echo(json.dumps(compiled, indent=2))
        return
    for key in ("tables", "assertions", "operations", "declarations"):
        click.echo(f"{key}: {len(compiled.get(key, []))}")


@dataform_group.command("run")
@click.option(
    "--project-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_PROJECT,
    show_default=True,
)
@click.option(
    "--tags", multiple=True, help="run actions with any of these tags (comma-separated or repeated)"
)
@click.option("--actions", multiple=True, help="run these actions (name or dataset.name)")
@click.option("--include-deps", is_flag=True, help="also run everything the selected actions depend on")
@click.option("--vars", "var_pairs", multiple=True, help="k=v, repeatable")
@click.option("--full-refresh", is_flag=True, help="rebuild incremental tables from scratch")
def run_command(
    project_dir: Path,
    tags: tuple[str, ...],
    actions: tuple[str, ...],
    include_deps: bool,
    var_pairs: tuple[str, ...],
    full_refresh: bool,
) -> None:
    """Run the project (or a selection) on the local warehouse; exits 1 when an action fails.

    Without ``--vars run_date=YYYY-MM-DD`` the run date is the day the local stack replayed last
    (today when nothing was replayed); the command says which it used.
    """
    from harness.dataform import run

    console = Console()
    variables = _parse_vars(var_pairs)
    if "run_date" not in variables:
        variables["run_date"], why = default_run_date()
        click.echo(f"run_date={variables['run_date']}: {why} (choose with --vars run_date=YYYY-MM-DD)")
    result = run(
        project_dir,
        tags=_split(tags),
        actions=_split(actions),
        vars=variables,
        full_refresh=full_refresh,
        include_dependencies=include_deps,
    )
    table = Table(title=f"dataform run {result.run_id}")
    for col in ("action", "type", "status", "rows", "seconds"):
        table.add_column(col)
    for a in result.actions:
        style = {"success": "green", "failed": "red"}.get(a.status, "yellow")
        rows = "" if a.rows is None else str(a.rows)
        table.add_row(a.name, a.kind, f"[{style}]{a.status}[/]", rows, f"{a.seconds:.2f}")
    console.print(table)
    console.print(f"run log: {result.log_path}")
    if not result.ok:
        console.print(result.describe_failures(), markup=False)
        sys.exit(1)


@click.command("sql")
@click.argument("query")
@click.option("--limit", default=100, show_default=True, help="rows to print")
def sql_command(query: str, limit: int) -> None:
    """Run a query on the local warehouse and print the result as a table."""
    from rillflow.commands.errors import WarehouseMissing
    from rillflow.settings import get_settings
    from rillflow.warehouse import DuckDBWarehouse

    path = get_settings().warehouse_path
    if not path.exists():  # connecting would create an empty one
        raise WarehouseMissing(path)
    with DuckDBWarehouse(path).connect(read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        cursor = con.execute(query)
        columns = [d[0] for d in cursor.description or []]
        rows = cursor.fetchmany(limit)
    table = Table(title=f"first {len(rows)} row(s)" if len(rows) == limit else f"{len(rows)} row(s)")
    for name in columns:
        table.add_column(name)
    for row in rows:
        table.add_row(*("NULL" if v is None else str(v) for v in row))
    Console(width=200).print(table)
