"""The parsed form of a workflow (subworkflows of named steps, which ``parser`` builds), the
service's per-execution limits, and the frame a running subworkflow has."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NO_DEFAULT = object()


@dataclass
class Step:
    name: str
    kind: str
    spec: dict[str, Any]
    next: str | None = None


@dataclass
class Param:
    name: str
    default: Any = NO_DEFAULT

    @property
    def required(self) -> bool:
        return self.default is NO_DEFAULT


@dataclass
class Subworkflow:
    name: str
    params: list[Param]
    steps: list[Step]


@dataclass
class Workflow:
    subworkflows: dict[str, Subworkflow] = field(default_factory=dict)

    @property
    def main(self) -> Subworkflow:
        return self.subworkflows["main"]


@dataclass(frozen=True)
class Limits:
    """The service's per-execution limits (Workflows quotas)."""

    max_steps: int = 100_000
    max_call_depth: int = 20
    max_variable_bytes: int = 512 * 1024
    max_concurrency: int = 20


@dataclass
class Frame:
    routine: str
    depth: int
