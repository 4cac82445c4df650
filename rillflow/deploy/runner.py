"""How the deploy's commands run: every command goes through one runner object.

:class:`DryRun` prints each command as a shell-quoted line (with its step as a ``#`` comment
above it, so the output is itself a runnable script) and runs nothing; :class:`Execute` prints
the same and runs it, stopping at the first failure. Tests pass their own runner to capture the
commands.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class DeployError(Exception):
    """A deploy that cannot go on; the message is one line that says what to do."""


class BadInput(DeployError):
    """The deploy's arguments are wrong (the CLI exits with 2, as for its other bad input)."""


@dataclass(frozen=True)
class Step:
    """One command of the deploy and what it is for."""

    title: str
    argv: tuple[str, ...]

    @property
    def line(self) -> str:
        return shlex.join(self.argv)


class Runner(Protocol):
    def run(self, step: Step) -> None: ...


Echo = Callable[[str], None]


@dataclass
class DryRun:
    echo: Echo

    def run(self, step: Step) -> None:
        self.echo(f"# {step.title}")
        self.echo(step.line)


@dataclass
class Execute:
    """Runs each command from ``cwd`` (the repository root, which relative paths refer to)."""

    echo: Echo
    cwd: Path

    def run(self, step: Step) -> None:
        self.echo(f"# {step.title}")
        self.echo(step.line)
        returncode = subprocess.run(step.argv, cwd=self.cwd, check=False).returncode
        if returncode != 0:
            raise DeployError(f"{step.title}: `{step.line}` failed with exit code {returncode}")
