"""Every ``rillflow`` sub-command, in one list the CLI registers."""

from __future__ import annotations

import click

from rillflow.commands.generate import generate
from rillflow.commands.local import local_group
from rillflow.commands.run import run_command
from rillflow.commands.workflows import workflows_group

COMMANDS: list[click.Command] = [local_group, run_command, generate, workflows_group]
