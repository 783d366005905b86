"""Working time: how many working hours lie between two instants, for a person's week.

Pure functions. Working hours are counted on the local wall clock of a time zone: a
window of 09:00-18:00 is nine hours every working day, the days a clock changes too
(the change happens at night, outside any usual window; with 00:00-24:00 such a day
counts 24 hours, not 23 or 25).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from bot.settings import Settings


@dataclass(frozen=True)
class WorkingWeek:
    """Working hours (minutes from local midnight, `end` up to 1440) on ISO weekdays."""

    start: int = 9 * 60
    end: int = 18 * 60
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})

    # Cached: the counting loops ask for these on every day they look at.
    @cached_property
    def minutes_per_day(self) -> int:
        return max(0, self.end - self.start)

    @cached_property
    def minutes_per_week(self) -> int:
        return self.minutes_per_day * len(self.days)


def _day_overlap(day: date, lo: datetime, hi: datetime, week: WorkingWeek) -> float:
    """Working minutes of local `day` inside the naive local interval [lo, hi]."""
    if day.isoweekday() not in week.days or week.minutes_per_day == 0:
        return 0.0
    midnight = datetime.combine(day, time())
    opens = midnight + timedelta(minutes=week.start)
    closes = midnight + timedelta(minutes=week.end)
    overlap = (min(hi, closes) - max(lo, opens)).total_seconds() / 60
    return max(0.0, overlap)


def working_minutes(start: datetime, end: datetime, zone: ZoneInfo, week: WorkingWeek) -> float:
    """Working minutes between two aware instants, on the wall clock of `zone`.

    0 when `end` is not after `start`. Only the first and last days are looked at
    closely; the whole days between are counted by weekday arithmetic, so a request a
    year old costs as little as one an hour old.
    """
    if end <= start:
        return 0.0
    lo = start.astimezone(zone).replace(tzinfo=None)
    hi = end.astimezone(zone).replace(tzinfo=None)
    first, last = lo.date(), hi.date()
    if first == last:
        return _day_overlap(first, lo, hi, week)
    total = _day_overlap(first, lo, hi, week) + _day_overlap(last, lo, hi, week)
    weeks, rest = divmod((last - first).days - 1, 7)
    total += weeks * week.minutes_per_week
    weekday = first.isoweekday()
    for ahead in range(1, rest + 1):
        if (weekday + ahead - 1) % 7 + 1 in week.days:
            total += week.minutes_per_day
    return total


def working_hours(start: datetime, end: datetime, zone: ZoneInfo, week: WorkingWeek) -> float:
    """Working hours between two aware instants, rounded to the minute."""
    return round(working_minutes(start, end, zone, week)) / 60


def add_working_minutes(
    start: datetime, minutes: float, zone: ZoneInfo, week: WorkingWeek
) -> datetime | None:
    """The instant `minutes` working minutes after `start`; None if the week has none.

    The inverse of `working_minutes`: the first instant `t` at which
    `working_minutes(start, t, zone, week)` reaches `minutes`.
    """
    if minutes <= 0:
        return start
    if week.minutes_per_week == 0:
        return None
    lo = start.astimezone(zone).replace(tzinfo=None)
    remaining = minutes
    day = lo.date()
    first = True
    while True:
        if not first and remaining > week.minutes_per_week:
            # Whole weeks at once, keeping some minutes for the loop to place.
            weeks = int(remaining // week.minutes_per_week)
            if remaining == weeks * week.minutes_per_week:
                weeks -= 1
            day += timedelta(weeks=weeks)
            remaining -= weeks * week.minutes_per_week
        if day.isoweekday() in week.days:
            midnight = datetime.combine(day, time())
            opens = max(lo, midnight + timedelta(minutes=week.start))
            closes = midnight + timedelta(minutes=week.end)
            available = max(0.0, (closes - opens).total_seconds() / 60)
            if remaining <= available:
                local = opens + timedelta(minutes=remaining)
                return local.replace(tzinfo=zone).astimezone(start.tzinfo)
            remaining -= available
        day += timedelta(days=1)
        first = False


def zone_named(name: Any, fallback: str) -> ZoneInfo:
    """The time zone called `name` (an IANA name), else `fallback`'s."""
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # unknown, or a path
            pass
    return ZoneInfo(fallback)


def person_zone(metadata: Mapping[str, Any] | None, fallback: str) -> ZoneInfo:
    """A person's time zone: `metadata.timezone`, else `fallback` (TIMEZONE)."""
    return zone_named((metadata or {}).get("timezone"), fallback)


def working_week(settings: Settings) -> WorkingWeek:
    """The week REMINDER_WORKING_HOURS and REMINDER_WORKING_DAYS describe."""
    start, end = settings.reminder_working_hours
    return WorkingWeek(start, end, frozenset(settings.reminder_working_days))
