"""Working time in a person's own time zone: pure arithmetic, no I/O.

A person works on `days` (ISO weekdays, 1 = Monday) from `start` to `end` minutes after
local midnight (`end` up to 1440: the next midnight). Each working day is one interval
of instants; its ends are local wall times turned into UTC instants in the person's
zone, so a daylight-saving change counts as it happens (with 00:00-24:00 the day the
clocks go forward is 23 hours long). Instants are subtracted in UTC: Python subtracts two
datetimes of one tzinfo by their wall times, which would make that day 24 hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_MINUTES = 1440
DAY = timedelta(days=1)
# Spans longer than this many days count their whole weeks by weekday arithmetic.
WALKED_DAYS = 14


@dataclass(frozen=True)
class WorkingWeek:
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
    def from_settings(cls, settings: Any) -> WorkingWeek:
        """REMINDER_WORKING_HOURS and REMINDER_WORKING_DAYS."""
        start, end = settings.reminder_working_hours
        return cls(start, end, frozenset(settings.reminder_working_days))

    # Cached: the counting asks for these on every span it counts.
    @cached_property
    def day_seconds(self) -> int:
        """The length of a working day on the wall clock."""
        return (self.end - self.start) * 60

    @cached_property
    def week_seconds(self) -> int:
        return self.day_seconds * len(self.days)

    def is_working_day(self, day: date) -> bool:
        return day.isoweekday() in self.days

    def interval(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The instants (in UTC) a working day `day` starts and ends at, in `zone`."""
        return _at(day, self.start, zone), _at(day, self.end, zone)


@lru_cache(maxsize=65536)
def _at(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of wall time `minutes` after midnight of `day` in `zone` (1440: next day).

    Cached: a run counts the same days for many requests.
    """
    if minutes >= DAY_MINUTES:
        day, minutes = day + DAY, minutes - DAY_MINUTES
    wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=zone)
    return wall.astimezone(UTC)


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def is_working_time(moment: datetime, zone: ZoneInfo, week: WorkingWeek) -> bool:
    """Whether `moment` falls inside a working day's hours in `zone`."""
    moment = moment.astimezone(UTC)
    day = local_date(moment, zone)
    # With hours ending at 24:00 the previous day's interval ends at this midnight: check it.
    for candidate in (day, day - DAY):
        if week.is_working_day(candidate):
            begin, end = week.interval(candidate, zone)
            if begin <= moment < end:
                return True
    return False


def _clipped(
    first: date, last: date, start: datetime, end: datetime, zone: ZoneInfo, week: WorkingWeek
) -> timedelta:
    """Working time of local days `first`..`last` inside [start, end), day by day."""
    total = timedelta(0)  # exact: summing float seconds drifts
    day = first
    while day <= last:
        if week.is_working_day(day):
            begin, finish = week.interval(day, zone)
            begin, finish = max(begin, start), min(finish, end)
            if begin < finish:
                total += finish - begin
        day += DAY
    return total


def _whole_days(first: date, last: date, zone: ZoneInfo, week: WorkingWeek) -> timedelta:
    """Working time of the whole local days `first`..`last`, without walking them.

    Whole weeks and the days left over count by weekday arithmetic at the wall-clock
    length of a day; the few days whose hours hold a change of the zone's UTC offset are
    then counted as they really are.
    """
    weeks, rest = divmod((last - first).days + 1, 7)
    days = weeks * len(week.days)
    weekday = first.isoweekday()
    days += sum(1 for ahead in range(rest) if (weekday + ahead - 1) % 7 + 1 in week.days)
    total = timedelta(seconds=days * week.day_seconds)
    off_days = {
        day: off
        for year in range(max(first.year - 1, MINYEAR), min(last.year + 2, MAXYEAR))
        for day, off in _off_days(zone, year, week)
    }
    return total + sum((off for day, off in off_days.items() if first <= day <= last), timedelta(0))


@lru_cache(maxsize=4096)
def _off_days(zone: ZoneInfo, year: int, week: WorkingWeek) -> tuple[tuple[date, timedelta], ...]:
    """The working days near `zone`'s offset changes in `year` not of wall-clock length.

    Each with how much longer (or shorter) it really is. Cached: once per zone, year and week.
    """
    nominal = timedelta(seconds=week.day_seconds)
    near = {
        local_date(c, zone) + shift * DAY
        for c in _offset_changes(zone, year)
        for shift in range(-2, 2)
    }
    found = []
    for day in sorted(near):
        if week.is_working_day(day):
            begin, finish = week.interval(day, zone)
            if finish - begin != nominal:
                found.append((day, finish - begin - nominal))
    return tuple(found)


PROBE = timedelta(hours=6)


@lru_cache(maxsize=4096)
def _offset_changes(zone: ZoneInfo, year: int) -> tuple[datetime, ...]:
    """The instants (UTC) in `year` from which `zone`'s UTC offset differs from just before.

    Probed every six hours, then bisected to the second; cached, so once per zone and year.
    """
    changes = []
    lo = datetime(year, 1, 1, tzinfo=UTC)
    stop = datetime(year + 1, 1, 1, tzinfo=UTC)
    before = lo.astimezone(zone).utcoffset()
    while lo < stop:
        hi = lo + PROBE
        after = hi.astimezone(zone).utcoffset()
        if after != before:
            a, b = lo, hi
            while b - a > timedelta(seconds=1):
                mid = a + (b - a) / 2
                mid = mid.replace(microsecond=0)
                if mid.astimezone(zone).utcoffset() == before:
                    a = mid
                else:
                    b = mid
            changes.append(b)
        lo, before = hi, after
    return tuple(changes)


def working_seconds(
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    week: WorkingWeek,
    *,
    at_most: float | None = None,
) -> float:
    """Seconds of working time between two instants (0 when `end` is not after `start`).

    The first and last few days are looked at closely, the whole days between by weekday
    arithmetic, so a request a year old costs about as little as one an hour old. With
    `at_most`, the answer is at most that (the callers that only ask whether a threshold
    passed).
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0.0
    # From the day before: with hours ending at 24:00 its interval ends at `start`'s day.
    first = local_date(start, zone) - DAY
    last = local_date(end, zone)
    if (last - first).days <= WALKED_DAYS:
        total = _clipped(first, last, start, end, zone, week)
    else:
        # Days first+3 .. last-2 lie wholly inside [start, end), with a margin to spare.
        inner_first, inner_last = first + 3 * DAY, last - 2 * DAY
        total = (
            _clipped(first, inner_first - DAY, start, end, zone, week)
            + _whole_days(inner_first, inner_last, zone, week)
            + _clipped(inner_last + DAY, last, start, end, zone, week)
        )
    seconds = total.total_seconds()
    return seconds if at_most is None else min(seconds, at_most)


def working_hours(start: datetime, end: datetime, zone: ZoneInfo, week: WorkingWeek) -> float:
    """Working hours between two instants, rounded to the minute."""
    return round(working_seconds(start, end, zone, week) / 60) / 60


def add_working_seconds(
    start: datetime, seconds: float, zone: ZoneInfo, week: WorkingWeek
) -> datetime | None:
    """The instant `seconds` of working time after `start`; None if the week has none.

    The inverse of `working_seconds`: the first instant `t` at which
    `working_seconds(start, t, zone, week)` reaches `seconds`.
    """
    if seconds <= 0:
        return start
    if week.week_seconds == 0:
        return None
    moment = start.astimezone(UTC)
    remaining = timedelta(seconds=seconds)
    day = local_date(moment, zone) - DAY
    # Whole weeks first, counted by `working_seconds`, leaving a week or two to walk.
    weeks = int(seconds // week.week_seconds) - 2
    if weeks > 0:
        skip_to = day + DAY + timedelta(weeks=weeks)
        midnight = _at(skip_to, 0, zone)
        counted = timedelta(seconds=working_seconds(moment, midnight, zone, week))
        if counted < remaining:
            moment, remaining, day = midnight, remaining - counted, skip_to - DAY
    while True:
        if week.is_working_day(day):
            begin, finish = week.interval(day, zone)
            begin = max(begin, moment)
            if begin < finish:
                if remaining <= finish - begin:
                    return (begin + remaining).astimezone(start.tzinfo)
                remaining -= finish - begin
        day += DAY


def next_working_morning(moment: datetime, zone: ZoneInfo, week: WorkingWeek) -> datetime:
    """The start of the first working day after `moment`'s local day ("tomorrow morning").

    Without any working day it is the next local midnight's day at `start`.
    """
    day = local_date(moment, zone) + DAY
    for _ in range(7):
        if week.is_working_day(day):
            break
        day += DAY
    return week.interval(day, zone)[0]


def zone_named(name: Any) -> ZoneInfo | None:
    """The IANA zone `name` names, or None for anything else."""
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):  # ValueError, OSError: a path
        return None


def person_zone(metadata: Mapping[str, Any] | None, fallback: str) -> ZoneInfo:
    """A person's time zone: `metadata.timezone`, else `fallback` (TIMEZONE)."""
    return zone_named((metadata or {}).get("timezone")) or ZoneInfo(fallback)
