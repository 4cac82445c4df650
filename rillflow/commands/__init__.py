"""Every ``rillflow`` sub-command, in one list the CLI registers."""

from __future__ import annotations

import click

from rillflow.commands.backfill import backfill_command
from rillflow.commands.dashboards import dashboards_group
from rillflow.commands.dataform import dataform_group, sql_command
from rillflow.commands.demo import demo_command
from rillflow.commands.deploy import deploy_command
from rillflow.commands.generate import generate
from rillflow.commands.local import local_group
from rillflow.commands.ml import ml_group
from rillflow.commands.run import run_command
from rillflow.commands.workflows import workflows_group

COMMANDS: list[click.Command] = [
    demo_command,
    local_group,
    run_command,
    backfill_command,
    generate,
    dataform_group,
    sql_command,
    workflows_group,
    ml_group,
    dashboards_group,
    deploy_command,
]
