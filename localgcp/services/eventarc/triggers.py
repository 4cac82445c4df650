"""A trigger and schedule declaration (a YAML file: event triggers, HTTP functions, cron schedules)
and Eventarc's matching rules. The starter names the file; localgcp knows no application's.

Eventarc matches an event when its type equals the trigger's and every filter attribute
equals the event's extension attribute; ``path_patterns`` use Eventarc's
``match-path-pattern`` operator (``{var}`` or ``*`` = one segment, ``{var=**}`` or ``**`` =
any number of segments).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from cloudevents.http import CloudEvent


@dataclass(frozen=True)
class EventTrigger:
    name: str
    function: str
    event_type: str
    filters: dict[str, str] = field(default_factory=dict)
    path_patterns: dict[str, str] = field(default_factory=dict)
    #: Pub/Sub triggers: the topic id whose messages reach the function (through a push subscription)
    topic: str | None = None

    def matches(self, event: CloudEvent) -> bool:
        if event["type"] != self.event_type or self.topic is not None:
            return False
        attrs = event.get_attributes()
        for key, want in self.filters.items():
            if attrs.get(key) != want:
                return False
        return all(
            path_matches(pattern, str(attrs.get(key, ""))) for key, pattern in self.path_patterns.items()
        )


@dataclass(frozen=True)
class Schedule:
    name: str
    function: str
    cron: str


@dataclass(frozen=True)
class Declaration:
    event_triggers: tuple[EventTrigger, ...]
    http_functions: tuple[str, ...]
    schedules: tuple[Schedule, ...]

    @property
    def functions(self) -> tuple[str, ...]:
        """Every function name, each once, in declaration order."""
        names = [t.function for t in self.event_triggers] + list(self.http_functions)
        return tuple(dict.fromkeys(names))

    @property
    def pubsub_triggers(self) -> tuple[EventTrigger, ...]:
        return tuple(t for t in self.event_triggers if t.topic is not None)

    def triggers_for(self, event: CloudEvent) -> list[EventTrigger]:
        return [t for t in self.event_triggers if t.matches(event)]


@cache
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for seg in pattern.strip("/").split("/"):
        if seg in ("**",) or re.fullmatch(r"\{\w+=\*\*\}", seg):
            parts.append(".*")
        elif seg == "*" or re.fullmatch(r"\{\w+\}", seg):
            parts.append("[^/]+")
        else:
            parts.append(re.escape(seg))
    return re.compile("^" + "/".join(parts) + "$")


def path_matches(pattern: str, path: str) -> bool:
    return bool(_pattern_regex(pattern).match(path.strip("/")))


def _substitute(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: variables[m.group(1)], value)


def load_declaration(path: Path, variables: dict[str, str]) -> Declaration:
    """Read the declaration at ``path``, substituting ``${name}`` from ``variables`` (e.g. lake_bucket)."""
    raw: dict[str, Any] = yaml.safe_load(path.read_text())
    triggers = tuple(
        EventTrigger(
            name=t["name"],
            function=t["function"],
            event_type=t["event_type"],
            filters={k: _substitute(str(v), variables) for k, v in (t.get("filters") or {}).items()},
            path_patterns=dict(t.get("path_patterns") or {}),
            topic=t.get("topic"),
        )
        for t in raw.get("event_triggers", [])
    )
    schedules = tuple(Schedule(s["name"], s["function"], s["cron"]) for s in raw.get("schedules", []))
    return Declaration(triggers, tuple(raw.get("http_functions", [])), schedules)
