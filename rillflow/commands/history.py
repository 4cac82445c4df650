"""What the local stack has replayed so far, and when the first models can exist.

The replay itself keeps no record of its virtual clock; the local Workflows service does: every
replayed day D starts one ``daily_pipeline`` execution with ``{"date": D}``, and the executions
are kept in SQLite under ``RILLFLOW_HOME`` (readable while the stack is down). So the days that
have been replayed are the dates of those executions, and the last replayed day is the date of
the newest one. A backfill starts no execution; it records its windows in ``backfills.json``
under ``RILLFLOW_HOME``, which count as history too.

The first-training figures come from the ML readiness rules (``ml/forecasting/readiness.py``,
``ml/churn/readiness.py``), as the README's ML section states them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from rillflow.resources import resources
from rillflow.settings import Settings

#: the workflow the replay starts once per day (workflows/daily_pipeline.yaml)
DAILY_WORKFLOW = "daily_pipeline"
#: the day a replay starts on unless told otherwise (`rillflow run --from`)
DEFAULT_FIRST_DAY = date(2026, 1, 1)


@dataclass(frozen=True)
class Replayed:
    """The replayed days span ``first`` to ``last``; ``latest`` is the day replayed most recently."""

    first: date
    last: date
    latest: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def replayed(settings: Settings) -> Replayed | None:
    """The days the local stack has replayed or backfilled, or None before the first one. The
    latest is the day replayed most recently, else the last day backfilled (a backfill runs no
    daily pipeline: ``harness.backfill`` records its windows beside the executions)."""
    from harness.backfill import backfilled_windows
    from localgcp.services.workflows.store import read_arguments

    days = []
    for argument in read_arguments(settings.home, DAILY_WORKFLOW):
        try:
            days.append(date.fromisoformat(argument["date"]))
        except (TypeError, KeyError, ValueError):  # started by hand with another argument
            continue
    windows = backfilled_windows(settings.home)
    if not days and not windows:
        return None
    known = days + [d for window in windows for d in window]
    return Replayed(first=min(known), last=max(known), latest=days[-1] if days else windows[-1][1])


@dataclass(frozen=True)
class Milestone:
    """A model's first training: after ``days`` days of history counted from the first day."""

    model_name: str
    label: str
    days: int
    why: str


def forecaster_milestone() -> Milestone:
    """The forecaster trains once the hourly series spans ``hours_to_train`` at the daily pipeline's
    one-week horizon: 888 hours, the 37th day."""
    from ml.forecasting.readiness import WEEK_HOURS, hours_to_train

    hours = hours_to_train(WEEK_HOURS)
    return Milestone(
        "app_activity_forecaster",
        "the app-activity forecaster",
        math.ceil(hours / 24),
        f"{hours} hours of app-event series",
    )


def churn_milestone(first_day: date) -> Milestone:
    """Churn trains once its weekly (Sunday) snapshots are labelled up to the first selection
    snapshot (``ml.churn.readiness.first_training_day``: day 69 of a replay starting Thursday 1
    January)."""
    from ml.churn.readiness import LABEL_HORIZON_DAYS, first_training_day

    return Milestone(
        "churn_classifier",
        "the churn model",
        (first_training_day(first_day) - first_day).days + 1,
        f"weekly snapshots labelled over the {LABEL_HORIZON_DAYS}-day churn horizon",
    )


def milestones(first_day: date) -> list[Milestone]:
    return [forecaster_milestone(), churn_milestone(first_day)]


def with_margin(days: int) -> int:
    """A replay length a little past ``days`` (the next multiple of ten): the figures are per day of
    history, and a replay that stops on the exact day leaves no room for a late skip."""
    return 10 * math.ceil((days + 1) / 10)


def how_to_get_there(settings: Settings, days_needed: int) -> str:
    """The command that fills enough history for ``days_needed`` days, from what exists: a backfill
    (minutes for a quarter; ``rillflow run`` would replay every simulated minute of it)."""
    history = replayed(settings)
    if history is None:
        return (
            "nothing has been replayed yet: "
            f"`rillflow backfill --from {DEFAULT_FIRST_DAY} --days {with_margin(days_needed)}` (minutes)"
        )
    if history.days >= days_needed:
        return (
            f"{history.days} days are replayed ({history.first}..{history.last}), which is enough: "
            f"the ML pipeline jobs under {settings.home / 'pipelines' / 'jobs'} say why no model was trained"
        )
    more = with_margin(days_needed) - history.days
    return (
        f"{history.days} day(s) replayed so far ({history.first}..{history.last}): continue with "
        f"`rillflow backfill --from {history.last + timedelta(days=1)} --days {more}`"
    )


def first_model_hint(settings: Settings, model_name: str | None = None) -> str:
    """When the first model (or ``model_name``'s first version) will exist, and how to get there."""
    history = replayed(settings)
    first_day = history.first if history else DEFAULT_FIRST_DAY
    wanted = [m for m in milestones(first_day) if model_name in (None, m.model_name)]
    if not wanted:
        return f"no pipeline trains a model named {model_name!r}"
    when = "; ".join(f"{m.label} first trains after ~{m.days} days of history ({m.why})" for m in wanted)
    if not resources(settings).replays_days:  # in the cloud the days pass for real
        return f"{when}; the daily pipeline trains it once that history exists"
    needed = max(m.days for m in wanted)
    return f"{when}; {how_to_get_there(settings, needed)}"
