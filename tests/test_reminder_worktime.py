"""Working-time arithmetic on a person's own clock (pure): examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.reminders.schedule import reminder_time_today, schedule_reached
from bot.reminders.worktime import (
    WorkingTime,
    is_working_time,
    next_working_morning,
    working_seconds,
)

OFFICE = WorkingTime(540, 1080, frozenset({1, 2, 3, 4, 5}))  # 09:00-18:00, Mon-Fri
ALWAYS = WorkingTime(0, 1440, frozenset(range(1, 8)))
BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
LA = ZoneInfo("America/Los_Angeles")
UTC_ZONE = ZoneInfo("UTC")
HOUR = 3600


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_a_request_on_friday_evening_is_not_idle_over_the_weekend() -> None:
    friday_evening = local(BERLIN, 2026, 1, 9, 17, 0)  # Friday, an hour before the end
    sunday_night = local(BERLIN, 2026, 1, 11, 23, 0)
    monday_ten = local(BERLIN, 2026, 1, 12, 10, 0)
    assert working_seconds(friday_evening, sunday_night, BERLIN, OFFICE) == 1 * HOUR
    assert working_seconds(friday_evening, monday_ten, BERLIN, OFFICE) == 2 * HOUR


def test_the_same_instants_count_differently_in_different_zones() -> None:
    # Monday 2026-01-12 08:00 to 20:00 UTC: Berlin works 08:00-17:00 UTC (9 h), Tokyo's day
    # is over (00:00-09:00 UTC: 1 h of it inside), Los Angeles starts at 17:00 UTC (3 h).
    start = datetime(2026, 1, 12, 8, 0, tzinfo=UTC)
    end = datetime(2026, 1, 12, 20, 0, tzinfo=UTC)
    assert working_seconds(start, end, BERLIN, OFFICE) == 9 * HOUR
    assert working_seconds(start, end, TOKYO, OFFICE) == 1 * HOUR
    assert working_seconds(start, end, LA, OFFICE) == 3 * HOUR


def test_a_daylight_saving_change_counts_the_wall_clock() -> None:
    # Los Angeles springs forward on Sunday 2026-03-08; with every hour working, that
    # Sunday is 23 hours long.
    start = local(LA, 2026, 3, 8, 0, 0)
    end = local(LA, 2026, 3, 9, 0, 0)
    assert working_seconds(start, end, LA, ALWAYS) == 23 * HOUR


def test_at_most_stops_counting() -> None:
    start = datetime(2020, 1, 1, tzinfo=UTC)
    end = datetime(2026, 1, 1, tzinfo=UTC)
    assert working_seconds(start, end, UTC_ZONE, OFFICE, at_most=4 * HOUR) == 4 * HOUR


@pytest.mark.parametrize(
    ("moment", "zone", "working"),
    [
        (local(BERLIN, 2026, 1, 12, 9, 0), BERLIN, True),  # Monday, the first minute
        (local(BERLIN, 2026, 1, 12, 17, 59), BERLIN, True),
        (local(BERLIN, 2026, 1, 12, 18, 0), BERLIN, False),  # the end is not inside
        (local(BERLIN, 2026, 1, 10, 11, 0), BERLIN, False),  # Saturday
        (datetime(2026, 1, 12, 1, 0, tzinfo=UTC), TOKYO, True),  # Monday 10:00 in Tokyo
        (datetime(2026, 1, 12, 1, 0, tzinfo=UTC), LA, False),  # Sunday 17:00 in LA
    ],
)
def test_is_working_time(moment: datetime, zone: ZoneInfo, working: bool) -> None:
    assert is_working_time(moment, zone, OFFICE) is working


def test_hours_to_midnight_include_the_last_minute() -> None:
    late = WorkingTime(1200, 1440, frozenset({1}))  # Mondays 20:00-24:00
    assert is_working_time(local(BERLIN, 2026, 1, 12, 23, 59), BERLIN, late)
    assert not is_working_time(local(BERLIN, 2026, 1, 13, 0, 0), BERLIN, late)


@pytest.mark.parametrize(
    ("clicked", "expected"),
    [
        (local(LA, 2026, 1, 13, 15, 30), local(LA, 2026, 1, 14, 9, 0)),  # Tue -> Wed
        (local(LA, 2026, 1, 16, 15, 30), local(LA, 2026, 1, 19, 9, 0)),  # Fri -> Mon
        (local(LA, 2026, 1, 17, 10, 0), local(LA, 2026, 1, 19, 9, 0)),  # Sat -> Mon
    ],
)
def test_next_working_morning(clicked: datetime, expected: datetime) -> None:
    assert next_working_morning(clicked, LA, OFFICE) == expected


def test_reminder_time_is_read_in_the_persons_zone() -> None:
    monday_noon_utc = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)
    # 15:30 in Tokyo is 06:30 UTC: reached; in Berlin 14:30 UTC: not yet.
    assert reminder_time_today(monday_noon_utc, TOKYO, "30 15 * * *") == local(
        TOKYO, 2026, 1, 12, 15, 30
    )
    assert schedule_reached(monday_noon_utc, TOKYO, "30 15 * * *")
    assert not schedule_reached(monday_noon_utc, BERLIN, "30 15 * * *")
    # A crontab that names other days names no time today (Monday).
    assert reminder_time_today(monday_noon_utc, BERLIN, "0 9 * * 2-5") is None


# --- properties -------------------------------------------------------------------------

ZONES = st.sampled_from(
    [ZoneInfo(name) for name in ("UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata")]
)
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@st.composite
def working_times(draw: st.DrawFn) -> WorkingTime:
    start = draw(st.integers(0, 1439))
    end = draw(st.integers(start + 1, 1440))
    days = draw(st.frozensets(st.integers(1, 7), min_size=1))
    return WorkingTime(start, end, days)


@settings(max_examples=150, deadline=None)
@given(INSTANTS, INSTANTS, INSTANTS, ZONES, working_times())
def test_working_time_adds_up(a, b, c, zone, work) -> None:
    a, b, c = sorted((a, b, c))
    whole = working_seconds(a, c, zone, work)
    assert whole == pytest.approx(
        working_seconds(a, b, zone, work) + working_seconds(b, c, zone, work)
    )
    assert 0 <= whole <= (c - a).total_seconds()


@settings(max_examples=100, deadline=None)
@given(INSTANTS, st.integers(0, 20 * 24 * 60), ZONES)
def test_every_hour_of_every_day_is_the_wall_clock(start, minutes, zone) -> None:
    end = start + timedelta(minutes=minutes)
    assert working_seconds(start, end, zone, ALWAYS) == (end - start).total_seconds()


@settings(max_examples=100, deadline=None)
@given(INSTANTS, ZONES, working_times())
def test_no_working_time_passes_outside_working_hours(moment, zone, work) -> None:
    minute = timedelta(minutes=1)
    counted = working_seconds(moment, moment + minute, zone, work)
    if not is_working_time(moment, zone, work) and not is_working_time(
        moment + minute - timedelta(microseconds=1), zone, work
    ):
        assert counted == 0


@settings(max_examples=100, deadline=None)
@given(INSTANTS, ZONES, working_times())
def test_the_next_working_morning_is_a_later_day_and_a_working_one(moment, zone, work) -> None:
    morning = next_working_morning(moment, zone, work)
    assert morning > moment
    local_morning = morning.astimezone(zone)
    assert local_morning.date() > moment.astimezone(zone).date()
    assert local_morning.isoweekday() in work.days
