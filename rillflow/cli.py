"""The ``rillflow`` command: a thin click front-end; each command group lives beside its logic."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rillflow")
def main() -> None:
    """Rillflow: an event-driven data and MLOps platform for Google Cloud, runnable on one laptop."""


def _register() -> None:
    """Attach the command groups (imported here so ``rillflow --help`` stays one import away)."""
    from rillflow.commands import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_register()
