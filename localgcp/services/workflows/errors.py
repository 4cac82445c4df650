"""Runtime errors as Cloud Workflows raises them: a value (usually a map with ``message`` and
``tags``) that ``try/except`` hands to the workflow unchanged."""

from __future__ import annotations

from typing import Any


class WorkflowError(Exception):
    """An error raised inside a workflow. ``payload`` is what ``except: as: e`` binds: a map with
    ``message``/``tags`` for built-in errors, or any value given to ``raise``."""

    def __init__(self, payload: Any, *, step: str | None = None, routine: str | None = None) -> None:
        self.payload = payload
        self.trace: list[tuple[str, str]] = []  # (routine, step), innermost first
        if step is not None and routine is not None:
            self.trace.append((routine, step))
        super().__init__(describe(payload))

    @property
    def tags(self) -> list[str]:
        if isinstance(self.payload, dict) and isinstance(self.payload.get("tags"), list):
            return [str(t) for t in self.payload["tags"]]
        return []


def describe(payload: Any) -> str:
    if isinstance(payload, dict):
        tags = payload.get("tags")
        message = payload.get("message", "")
        if isinstance(tags, list) and tags:
            return f"{tags[0]}: {message}"
        return str(message) if message else str(payload)
    return str(payload)


def make(tag: str, message: str, **extra: Any) -> WorkflowError:
    """A built-in error with one tag, e.g. ``make("KeyError", "key not found: x")``."""
    return WorkflowError({"message": message, "tags": [tag], **extra})


def type_error(message: str) -> WorkflowError:
    return make("TypeError", message)


def value_error(message: str) -> WorkflowError:
    return make("ValueError", message)


def key_error(message: str) -> WorkflowError:
    return make("KeyError", message)


def http_error(code: int, body: Any = None, headers: dict[str, str] | None = None) -> WorkflowError:
    return make(
        "HttpError",
        f"HTTP server responded with error code {code}",
        code=code,
        body=body,
        headers=headers or {},
    )


class DefinitionError(ValueError):
    """The YAML is not a valid workflow (the deploy-time check of the real service)."""


class WorkflowNotFound(KeyError):
    """No workflow with that id is deployed (here: no ``<id>.yaml`` in the workflows folder)."""
