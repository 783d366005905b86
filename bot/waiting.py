"""How long a review request has waited, in working hours, and whether it is idle (pure).

Counted in working hours (REMINDER_WORKING_HOURS on REMINDER_WORKING_DAYS) in the
reviewer's time zone, in tenths of an hour rounded down. A wait is idle when the
reminders would nudge about it: the pull request is no draft, carries none of
REMINDER_IGNORE_LABELS, and the request is REMINDER_MIN_IDLE_HOURS working hours old.
A wait changes with time alone, during working hours: `Wait.changes_at` says when its
figures next change, so a conditional GET knows when to stop answering 304.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.settings import Settings
from bot.worktime import WorkingWeek, add_working_seconds, person_zone, working_seconds

Row = Mapping[str, Any]
STEP_MINUTES = 6  # waits are shown in tenths of an hour


def ignored(pull_request: Row, settings: Settings) -> bool:
    """A draft, or labelled with one of REMINDER_IGNORE_LABELS: reminders leave it be."""
    labels = {str(label).lower() for label in pull_request["labels"] or []}
    return bool(pull_request["draft"] or labels & settings.reminder_ignore_labels)


@dataclass(frozen=True)
class Wait:
    """How long one request has waited, as of `now`, and when that next changes."""

    minutes: float
    idle: bool
    changes_at: datetime | None  # None: never, with no write

    @property
    def hours(self) -> float:
        return math.floor(self.minutes / STEP_MINUTES) * STEP_MINUTES / 60


def wait_of(
    requested_at: datetime,
    now: datetime,
    zone: ZoneInfo,
    week: WorkingWeek,
    min_idle_hours: float,
    ignored: bool,
) -> Wait:
    minutes = working_seconds(requested_at, now, zone, week) / 60
    next_step = (math.floor(minutes / STEP_MINUTES) + 1) * STEP_MINUTES
    # Counted on from now, the few minutes left cost a day or two of looking ahead.
    moments = [add_working_seconds(now, (next_step - minutes) * 60, zone, week)]
    idle = not ignored and minutes >= min_idle_hours * 60
    if not ignored and not idle:
        moments.append(add_working_seconds(now, (min_idle_hours * 60 - minutes) * 60, zone, week))
    known = [m for m in moments if m is not None]
    return Wait(minutes, idle, min(known) if known else None)


def wait_of_request(
    request: Row, pull_request: Row, now: datetime, settings: Settings, week: WorkingWeek
) -> Wait:
    return wait_of(
        request["requested_at"],
        now,
        person_zone(request["metadata"], settings.timezone),
        week,
        settings.reminder_min_idle_hours,
        ignored(pull_request, settings),
    )


def earliest(moments: Iterable[datetime | None]) -> datetime | None:
    known = [m for m in moments if m is not None]
    return min(known) if known else None
