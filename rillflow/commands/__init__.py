"""Every ``rillflow`` sub-command, in one list the CLI registers."""

from __future__ import annotations

import click

from rillflow.commands.local import local_group
from rillflow.commands.run import run_command

COMMANDS: list[click.Command] = [local_group, run_command]
