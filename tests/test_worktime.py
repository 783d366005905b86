"""Working time on a person's own clock (pure), and the settings that describe a working week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.reminders.schedule import reminder_time_today, schedule_reached
from bot.settings import load_settings
from bot.worktime import (
    WorkingWeek,
    add_working_seconds,
    is_working_time,
    next_working_morning,
    person_zone,
    working_hours,
    working_seconds,
)

UTC_ZONE = ZoneInfo("UTC")
OFFICE = WorkingWeek()  # 09:00-18:00, Monday to Friday
ALWAYS = WorkingWeek(0, 1440, frozenset(range(1, 8)))
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, midnight UTC
BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
LA = ZoneInfo("America/Los_Angeles")
HOUR = 3600
MINUTE = 60


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_a_working_day_is_its_window() -> None:
    assert working_hours(MONDAY, MONDAY + timedelta(days=1), UTC_ZONE, OFFICE) == 9


def test_partial_days_count_only_inside_the_window() -> None:
    friday_five_pm = MONDAY + timedelta(days=4, hours=17)
    monday_ten_am = MONDAY + timedelta(days=7, hours=10)
    # 17:00-18:00 on Friday, the weekend counts nothing, 09:00-10:00 on Monday.
    assert working_hours(friday_five_pm, monday_ten_am, UTC_ZONE, OFFICE) == 2


def test_a_week_is_five_working_days() -> None:
    assert working_hours(MONDAY, MONDAY + timedelta(weeks=1), UTC_ZONE, OFFICE) == 45


def test_nothing_when_the_end_is_not_after_the_start() -> None:
    assert working_hours(MONDAY, MONDAY, UTC_ZONE, OFFICE) == 0
    assert working_hours(MONDAY + timedelta(hours=12), MONDAY, UTC_ZONE, OFFICE) == 0


def test_the_window_is_read_in_the_persons_time_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")  # UTC+9: 09:00-18:00 there is 00:00-09:00 UTC
    start, end = MONDAY, MONDAY + timedelta(hours=9)
    assert working_hours(start, end, tokyo, OFFICE) == 9
    assert working_hours(start, end, UTC_ZONE, OFFICE) == 0


def test_all_day_every_day_is_elapsed_time() -> None:
    start = MONDAY + timedelta(minutes=17)
    assert working_hours(start, start + timedelta(days=40, hours=3), UTC_ZONE, ALWAYS) == 963


def test_the_clock_change_counts_on_the_wall_clock() -> None:
    paris = ZoneInfo("Europe/Paris")
    # Clocks went forward on Sunday 29 March 2026 at 02:00: Friday 9:00 to Monday 18:00.
    friday = datetime(2026, 3, 27, 9, tzinfo=paris)
    monday = datetime(2026, 3, 30, 18, tzinfo=paris)
    assert working_hours(friday, monday, paris, OFFICE) == 18


def brute_force_minutes(start: datetime, end: datetime, zone: ZoneInfo, week: WorkingWeek) -> int:
    """Minute by minute on the local wall clock: slow and obviously right."""
    lo = start.astimezone(zone).replace(tzinfo=None)
    hi = end.astimezone(zone).replace(tzinfo=None)
    minutes, moment = 0, lo
    while moment < hi:
        of_day = moment.hour * 60 + moment.minute
        if moment.isoweekday() in week.days and week.start <= of_day < week.end:
            minutes += 1
        moment += timedelta(minutes=1)
    return minutes


def weeks(min_days: int = 0) -> st.SearchStrategy[WorkingWeek]:
    return st.builds(
        lambda start, length, days: WorkingWeek(start, min(1440, start + length), days),
        st.integers(0, 1439),
        st.integers(1, 1440),
        st.frozensets(st.integers(1, 7), min_size=min_days),
    )


# The wall clock of New York changes on 2026-03-08: the spans below end before.
BEFORE_CLOCK_CHANGE = datetime(2026, 3, 7, tzinfo=UTC)


@settings(max_examples=40, deadline=None)
@given(
    week=weeks(),
    start=st.integers(0, 60 * 24 * 30),
    length=st.integers(0, 60 * 24 * 40),
    zone=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"]),
)
def test_the_whole_weeks_shortcut_agrees_with_counting_every_minute(
    week, start, length, zone
) -> None:
    begin = MONDAY + timedelta(minutes=start)
    end = min(begin + timedelta(minutes=length), BEFORE_CLOCK_CHANGE)
    tz = ZoneInfo(zone)
    # Whole minutes on both sides, away from clock changes (none in Jan-Feb here).
    counted = working_seconds(begin, end, tz, week)
    assert counted == brute_force_minutes(begin, end, tz, week) * MINUTE


def test_a_persons_zone_falls_back_to_the_teams() -> None:
    assert person_zone({"timezone": "Asia/Tokyo"}, "UTC") == ZoneInfo("Asia/Tokyo")
    for junk in ({"timezone": "Mars/Base"}, {"timezone": "../../etc/passwd"}, {"timezone": 3}):
        assert person_zone(junk, "Europe/Paris") == ZoneInfo("Europe/Paris")
    assert person_zone(None, "UTC") == UTC_ZONE


def test_the_working_week_comes_from_the_settings() -> None:
    default = load_settings({}, env_file=Path("/nonexistent/none.env"))
    assert WorkingWeek.from_settings(default) == OFFICE
    custom = load_settings(
        {"REMINDER_WORKING_HOURS": "08:30-24:00", "REMINDER_WORKING_DAYS": "0,2-3,6"},
        env_file=Path("/nonexistent/none.env"),
    )
    assert WorkingWeek.from_settings(custom) == WorkingWeek(510, 1440, frozenset({7, 2, 3, 6}))
    with pytest.raises(ValueError):
        WorkingWeek(1080, 540)  # what REMINDER_WORKING_HOURS=18:00-09:00 is refused for


def test_adding_working_time_skips_nights_and_weekends() -> None:
    friday_five_pm = MONDAY + timedelta(days=4, hours=17)
    assert add_working_seconds(
        friday_five_pm, 30 * MINUTE, UTC_ZONE, OFFICE
    ) == friday_five_pm + timedelta(minutes=30)
    # One hour left on Friday, the second one on Monday from 09:00.
    assert add_working_seconds(friday_five_pm, 2 * HOUR, UTC_ZONE, OFFICE) == MONDAY + timedelta(
        days=7, hours=10
    )
    # Exactly a week of work from Monday 09:00 ends on Friday at 18:00.
    monday_nine = MONDAY + timedelta(hours=9)
    assert add_working_seconds(monday_nine, 45 * HOUR, UTC_ZONE, OFFICE) == MONDAY + timedelta(
        days=4, hours=18
    )
    assert add_working_seconds(monday_nine, HOUR, UTC_ZONE, WorkingWeek(days=frozenset())) is None


@settings(max_examples=60, deadline=None)
@given(
    week=weeks().filter(lambda w: w.week_seconds > 0),
    start=st.integers(0, 60 * 24 * 30),
    minutes=st.integers(1, 60 * 24 * 60),
    zone=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"]),
)
def test_adding_minutes_is_the_inverse_of_counting_them(week, start, minutes, zone) -> None:
    begin = MONDAY + timedelta(minutes=start)
    tz = ZoneInfo(zone)
    end = add_working_seconds(begin, minutes * MINUTE, tz, week)
    assert end is not None
    # The first instant at which that many working minutes have gone by.
    assert working_seconds(begin, end, tz, week) == minutes * MINUTE
    assert working_seconds(begin, end - timedelta(minutes=1), tz, week) == (minutes - 1) * MINUTE


# --- on a person's own clock, the days the clocks change too ------------------------


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
    late = WorkingWeek(1200, 1440, frozenset({1}))  # Mondays 20:00-24:00
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


ZONES = st.sampled_from(
    [ZoneInfo(name) for name in ("UTC", "Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata")]
)
INSTANTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(INSTANTS, INSTANTS, INSTANTS, ZONES, weeks(min_days=1))
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
@given(INSTANTS, ZONES, weeks(min_days=1))
def test_no_working_time_passes_outside_working_hours(moment, zone, work) -> None:
    minute = timedelta(minutes=1)
    counted = working_seconds(moment, moment + minute, zone, work)
    if not is_working_time(moment, zone, work) and not is_working_time(
        moment + minute - timedelta(microseconds=1), zone, work
    ):
        assert counted == 0


@settings(max_examples=100, deadline=None)
@given(INSTANTS, ZONES, weeks(min_days=1))
def test_the_next_working_morning_is_a_later_day_and_a_working_one(moment, zone, work) -> None:
    morning = next_working_morning(moment, zone, work)
    assert morning > moment
    local_morning = morning.astimezone(zone)
    assert local_morning.date() > moment.astimezone(zone).date()
    assert local_morning.isoweekday() in work.days


def walked_seconds(start: datetime, end: datetime, zone: ZoneInfo, week: WorkingWeek) -> float:
    """Every local day's working interval, as instants, clipped to [start, end): slow and plain."""

    def instant(day, minutes: int) -> datetime:
        wall = datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(minutes=minutes)
        wall = datetime.combine(wall.date(), wall.time(), tzinfo=zone)  # wall-clock arithmetic
        return wall.astimezone(UTC)

    total, day = timedelta(0), start.astimezone(zone).date() - timedelta(days=1)
    while day <= end.astimezone(zone).date():
        if day.isoweekday() in week.days:
            begin = max(instant(day, week.start), start)
            finish = min(instant(day, week.end), end)
            total += max(finish - begin, timedelta(0))
        day += timedelta(days=1)
    return total.total_seconds()


@settings(max_examples=60, deadline=None)
@given(INSTANTS, st.integers(0, 3 * 365 * 24 * 60), ZONES, weeks())
def test_the_whole_weeks_shortcut_agrees_with_walking_every_day(start, minutes, zone, week) -> None:
    # Spans of up to three years, across every clock change of those zones.
    end = start + timedelta(minutes=minutes)
    assert working_seconds(start, end, zone, week) == walked_seconds(start, end, zone, week)


def test_a_clock_change_inside_the_working_hours_counts_as_it_happens() -> None:
    nights = WorkingWeek(0, 6 * 60, frozenset({7}))  # Sundays 00:00-06:00
    # Los Angeles springs forward on 2026-03-08 and falls back on 2026-11-01, both Sundays:
    # over the year the Sundays count 5 h and 7 h there, 6 h every other Sunday.
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    sundays = 52  # 2026 has 52 Sundays
    assert working_seconds(start, end, LA, nights) == sundays * 6 * HOUR
    spring = local(LA, 2026, 3, 8, 0, 0), local(LA, 2026, 3, 8, 12, 0)
    autumn = local(LA, 2026, 11, 1, 0, 0), local(LA, 2026, 11, 1, 12, 0)
    assert working_seconds(*spring, LA, nights) == 5 * HOUR
    assert working_seconds(*autumn, LA, nights) == 7 * HOUR
    assert working_seconds(start, end, UTC_ZONE, nights) == sundays * 6 * HOUR
    # One change in the span: the spring's lost hour, on the whole-weeks path.
    first_half = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC)
    assert working_seconds(*first_half, LA, nights) == (
        working_seconds(*first_half, UTC_ZONE, nights) - HOUR
    )
