"""Working time in a person's own time zone: pure arithmetic, no I/O.

A person works on `days` (ISO weekdays, 1 = Monday) from `start` to `end` minutes after
local midnight (`end` up to 1440: the next midnight). Each working day is one interval
of instants; its ends are local wall times turned into instants in the person's zone,
so a daylight-saving change is counted as the clock on their wall shows it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

DAY_MINUTES = 1440


@dataclass(frozen=True)
class WorkingTime:
    """When a person works: minutes from midnight [start, end), on ISO weekdays `days`."""

    start: int = 540
    end: int = 1080
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= DAY_MINUTES:
            raise ValueError(f"working hours {self.start}-{self.end} are not within one day")
        if not self.days <= frozenset(range(1, 8)):
            raise ValueError(f"working days {sorted(self.days)} are not ISO weekdays")

    @classmethod
    def from_settings(cls, settings: Any) -> WorkingTime:
        """REMINDER_WORKING_HOURS and REMINDER_WORKING_DAYS."""
        start, end = settings.reminder_working_hours
        return cls(start, end, frozenset(settings.reminder_working_days))

    @property
    def day_seconds(self) -> int:
        """The length of a working day on the wall clock."""
        return (self.end - self.start) * 60

    def is_working_day(self, day: date) -> bool:
        return day.isoweekday() in self.days

    def interval(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The instants (in UTC) a working day `day` starts and ends at, in `zone`."""
        return _at(day, self.start, zone), _at(day, self.end, zone)


@lru_cache(maxsize=65536)
def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The instant of wall time `minutes` after midnight of `day` in `zone` (1440: next day).

    In UTC: Python compares and subtracts two datetimes of one tzinfo by their wall
    times, which would make a day of a daylight-saving change 24 hours long. Cached: a
    run counts the same days for many requests.
    """
    if minutes >= DAY_MINUTES:
        day, minutes = day + timedelta(days=1), minutes - DAY_MINUTES
    wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return wall.astimezone(UTC)


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def is_working_time(moment: datetime, zone: ZoneInfo, work: WorkingTime) -> bool:
    """Whether `moment` falls inside a working day's hours in `zone`."""
    moment = moment.astimezone(UTC)
    day = local_date(moment, zone)
    # With hours ending at 24:00 the previous day's interval ends at this midnight: check it.
    for candidate in (day, day - timedelta(days=1)):
        if work.is_working_day(candidate):
            begin, end = work.interval(candidate, zone)
            if begin <= moment < end:
                return True
    return False


def _working_intervals(
    start: datetime, end: datetime, zone: ZoneInfo, work: WorkingTime
) -> Iterator[tuple[datetime, datetime]]:
    """The working intervals that overlap [start, end), clipped to it, in order."""
    day = local_date(start, zone) - timedelta(days=1)
    last = local_date(end, zone)
    while day <= last:
        if work.is_working_day(day):
            begin, finish = work.interval(day, zone)
            begin, finish = max(begin, start), min(finish, end)
            if begin < finish:
                yield begin, finish
        day += timedelta(days=1)


def working_seconds(
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    work: WorkingTime,
    *,
    at_most: float | None = None,
) -> float:
    """Seconds of working time between two instants (0 when `end` is not after `start`).

    `at_most` stops counting once reached (a request idle for years is not walked day by
    day when all that is asked is whether it passed a threshold).
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0.0
    total = timedelta(0)  # exact: summing float seconds drifts
    for begin, finish in _working_intervals(start, end, zone, work):
        total += finish - begin
        if at_most is not None and total.total_seconds() >= at_most:
            return at_most
    return total.total_seconds()


def next_working_morning(moment: datetime, zone: ZoneInfo, work: WorkingTime) -> datetime:
    """The start of the first working day after `moment`'s local day ("tomorrow morning").

    Without any working day it is the next local midnight's day at `start`.
    """
    day = local_date(moment, zone) + timedelta(days=1)
    for _ in range(7):
        if work.is_working_day(day):
            break
        day += timedelta(days=1)
    return work.interval(day, zone)[0]
