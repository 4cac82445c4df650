"""The ``rillflow`` command: a thin click front-end; each command group lives beside its logic.

Every sub-command runs under one error policy (``rillflow.commands.errors``): an expected error is
one line on stderr and an exit code, with the traceback only under ``--debug``.
"""

from __future__ import annotations

from typing import Any

import click

from rillflow.commands.errors import debug_option, explained_errors


class RillflowGroup(click.Group):
    """The top-level group: runs the chosen sub-command under the CLI's error policy."""

    def invoke(self, ctx: click.Context) -> Any:
        with explained_errors(debug=bool(ctx.params.get("debug"))):
            return super().invoke(ctx)


@click.group(cls=RillflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rillflow")
@debug_option
def main(debug: bool) -> None:
    """Rillflow: an event-driven data and MLOps platform for Google Cloud, runnable on one laptop.

    State and logs live under RILLFLOW_HOME (default ./.rillflow).
    """


def _register() -> None:
    """Attach the command groups (imported here so ``rillflow --help`` stays one import away)."""
    from rillflow.commands import COMMANDS

    for command in COMMANDS:
        main.add_command(command)


_register()
