"""Options every command that takes a day or an app-event rate shares, so they parse and default alike.

``DAY`` is the parameter type of ``--from``/``--date``: it returns a :class:`datetime.date` and,
for a value that is not a date, says why (``2026-13-01 is not a valid date: month must be in
1..12``) where ``click.DateTime`` only says the value "does not match the format".

``app_events_per_day_option()`` is the one ``--app-events-per-day``: its default is read from
``rillflow.settings`` (``RILLFLOW_APP_EVENTS_PER_DAY``, embedded default 20,000) when the command
runs, so ``run``, ``demo`` and ``generate`` produce the same stream unless told otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import click

from rillflow.settings import Settings, get_settings

F = TypeVar("F", bound=Callable[..., Any])

_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
APP_EVENTS_ENV = "RILLFLOW_APP_EVENTS_PER_DAY"


class DayType(click.ParamType):
    """A calendar day written ``YYYY-MM-DD``, converted to :class:`datetime.date`."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = str(value).strip()
        match = _ISO_DAY.match(text)
        if match is None:
            self.fail(f"{text!r} is not a day: write it as YYYY-MM-DD, e.g. 2026-01-01", param, ctx)
        year, month, day = (int(part) for part in match.groups())
        try:
            return date(year, month, day)
        except ValueError as exc:  # the standard library says which part is wrong
            self.fail(f"{text} is not a valid date: {exc}", param, ctx)


#: the parameter type of every ``--from``/``--date`` option
DAY = DayType()


def default_app_events_per_day() -> int:
    """The configured rate, read when the command runs (so the environment variable counts)."""
    return get_settings().app_events_per_day


def app_events_per_day_option() -> Callable[[F], F]:
    """``--app-events-per-day N`` (0 = no app-event stream), defaulting to the settings' rate."""
    return click.option(
        "--app-events-per-day",
        type=click.IntRange(min=0),
        default=default_app_events_per_day,
        show_default=False,
        help=(
            "simulated app events per day, 0 = no app-event stream "
            f"[default: ${APP_EVENTS_ENV}, else {Settings.app_events_per_day:,}]"
        ),
    )
