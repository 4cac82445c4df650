"""Every ``rillflow`` sub-command, in one list the CLI registers."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
