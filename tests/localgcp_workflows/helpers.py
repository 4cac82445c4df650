"""Run a YAML program string through the interpreter."""

from __future__ import annotations

import textwrap
from typing import Any

from localgcp.services.workflows import Execution, parse_workflow


def execute(source: str, argument: Any = None, **options: Any) -> Any:
    execution = make_execution(source, **options)
    return execution.run(argument)


def make_execution(source: str, **options: Any) -> Execution:
    options.setdefault("time_scale", 0.0)
    return Execution(parse_workflow(textwrap.dedent(source), options.get("connectors")), **options)
