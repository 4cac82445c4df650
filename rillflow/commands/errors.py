"""The CLI's one error policy.

An expected error (a query naming an unknown table, the local stack not running, no model yet, no
warehouse yet, Ctrl-C) becomes one line on stderr that says what is wrong and what to do, with exit
code 2 for bad input and 1 otherwise (as click does for its own errors); ``--debug`` (or
``RILLFLOW_DEBUG=1``) prints the traceback above that line. Anything else is a bug and keeps its
traceback.

Which errors are expected, and how each is worded, is the table :func:`explainers`: exception
types mapped to functions that return an :class:`Explanation`, or None for an instance they do not
recognise (which then propagates unchanged). The CLI's own expected errors (no warehouse, no model
yet) are :class:`ExplainedError` subclasses worded where they are defined, so they read the same
whether a command runs under ``rillflow`` or on its own (click's ``CliRunner`` in tests).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import click

from rillflow.resources import RESOURCES

F = TypeVar("F", bound=Callable[..., Any])

FAILURE = 1
BAD_INPUT = 2
#: 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C
INTERRUPTED = 130
LOCAL_STACK_DOWN = RESOURCES["local"].unavailable_hint


@dataclass(frozen=True)
class Explanation:
    message: str
    #: the user's input is wrong (exit code 2), rather than the state of things (1)
    bad_input: bool = False


class ExplainedError(click.ClickException):
    """An expected error, worded: click prints ``Error: <message>`` and exits with ``exit_code``."""

    exit_code = FAILURE


class BadInputError(ExplainedError):
    exit_code = BAD_INPUT


def as_error(explanation: Explanation) -> ExplainedError:
    return (BadInputError if explanation.bad_input else ExplainedError)(explanation.message)


# --- errors the commands raise (worded where they are raised) -----------------------------
class WarehouseMissing(ExplainedError):
    """The local warehouse file does not exist: nothing has been replayed or built yet."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"there is no warehouse yet ({path}): replay some days first with "
            "`rillflow run` (or `make demo`), which builds it"
        )
        self.path = path


class NoModelYet(ExplainedError):
    """The registry holds no version of ``model_name`` at all: say when the first one will exist."""

    def __init__(self, model_name: str, alias: str) -> None:
        from rillflow.commands.history import first_model_hint
        from rillflow.settings import get_settings

        super().__init__(
            f"model {model_name!r} has no version with alias {alias!r}, nor any other yet: "
            f"{first_model_hint(get_settings(), model_name)}"
        )
        self.model_name = model_name


# --- how each expected error is worded -----------------------------------------------------
def _first_paragraph(text: str) -> str:
    """DuckDB's message without the echoed query and caret (``LINE 1: …``), on one line."""
    lines = []
    for line in text.strip().splitlines():
        if line.startswith("LINE "):
            break
        if line.strip():
            lines.append(line.strip())
    return " ".join(lines)


def _query_error(exc: BaseException) -> Explanation:
    return Explanation(f"the query failed: {_first_paragraph(str(exc))}", bad_input=True)


def _unavailable(exc: BaseException) -> Explanation:
    from rillflow.resources import resources
    from rillflow.settings import get_settings

    return Explanation(resources(get_settings()).unavailable_hint.format(error=exc))


def _rpc_error(exc: BaseException) -> Explanation | None:
    """A raw gRPC error (the official clients wrap theirs): only UNAVAILABLE is expected."""
    import grpc

    code = exc.code() if isinstance(exc, grpc.Call) else None
    return _unavailable(exc) if code == grpc.StatusCode.UNAVAILABLE else None


def _retry_error(exc: BaseException) -> Explanation | None:
    """google-api-core gave up retrying: explain what it last got."""
    cause = getattr(exc, "cause", None)
    return explain(cause) if isinstance(cause, BaseException) else None


Explainer = Callable[[BaseException], Explanation | None]


@cache
def explainers() -> tuple[tuple[tuple[type[BaseException], ...], Explainer], ...]:
    """Expected exception types → their wording, most specific first (imported on first use, so
    ``rillflow --help`` does not load DuckDB or the Google clients)."""
    import duckdb
    import grpc
    import requests
    from google.api_core import exceptions as gexc

    return (
        ((duckdb.CatalogException, duckdb.BinderException, duckdb.ParserException), _query_error),
        ((gexc.ServiceUnavailable, requests.ConnectionError), _unavailable),
        ((gexc.RetryError,), _retry_error),
        ((grpc.RpcError,), _rpc_error),
    )


def explain(exc: BaseException) -> Explanation | None:
    """The wording of an expected error, or None when ``exc`` is not one."""
    for types, explainer in explainers():
        if isinstance(exc, types):
            return explainer(exc)
    return None


@contextmanager
def explained_errors(debug: bool) -> Iterator[None]:
    """Turn expected errors raised inside into :class:`ExplainedError` (one line, an exit code)."""
    try:
        yield
    except ExplainedError:
        if debug:
            traceback.print_exc(file=sys.stderr)
        raise
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise  # click's own errors are already one line with the right exit code
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc(file=sys.stderr)
        click.echo("interrupted", err=True)
        raise click.exceptions.Exit(INTERRUPTED) from None
    except Exception as exc:
        explanation = explain(exc)
        if explanation is None:
            raise
        if debug:
            traceback.print_exc(file=sys.stderr)
        raise as_error(explanation) from exc


def debug_option(fn: F) -> F:
    """``--debug`` / ``RILLFLOW_DEBUG=1``: show tracebacks of expected errors too."""
    return click.option(
        "--debug",
        is_flag=True,
        envvar="RILLFLOW_DEBUG",
        help="print the traceback of an error, not only the line that explains it (or RILLFLOW_DEBUG=1)",
    )(fn)
