"""Working hours between two instants, and the settings that describe a working week."""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.settings import ConfigError, load_settings
from bot.worktime import (
    WorkingWeek,
    add_working_minutes,
    person_zone,
    working_hours,
    working_minutes,
    working_week,
)

UTC_ZONE = ZoneInfo("UTC")
OFFICE = WorkingWeek()  # 09:00-18:00, Monday to Friday
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, midnight UTC


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
    always = WorkingWeek(0, 1440, frozenset(range(1, 8)))
    start = MONDAY + timedelta(minutes=17)
    assert working_hours(start, start + timedelta(days=40, hours=3), UTC_ZONE, always) == 963


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


weeks = st.builds(
    lambda start, length, days: WorkingWeek(start, min(1440, start + length), days),
    st.integers(0, 1439),
    st.integers(1, 1440),
    st.frozensets(st.integers(1, 7)),
)


@settings(max_examples=40, deadline=None)
@given(
    week=weeks,
    start=st.integers(0, 60 * 24 * 30),
    length=st.integers(0, 60 * 24 * 40),
    zone=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"]),
)
def test_the_whole_weeks_shortcut_agrees_with_counting_every_minute(
    week, start, length, zone
) -> None:
    begin = MONDAY + timedelta(minutes=start)
    end = begin + timedelta(minutes=length)
    tz = ZoneInfo(zone)
    # Whole minutes on both sides, away from clock changes (none in Jan-Feb here).
    assert working_minutes(begin, end, tz, week) == brute_force_minutes(begin, end, tz, week)


def test_a_persons_zone_falls_back_to_the_teams() -> None:
    assert person_zone({"timezone": "Asia/Tokyo"}, "UTC") == ZoneInfo("Asia/Tokyo")
    for junk in ({"timezone": "Mars/Base"}, {"timezone": "../../etc/passwd"}, {"timezone": 3}):
        assert person_zone(junk, "Europe/Paris") == ZoneInfo("Europe/Paris")
    assert person_zone(None, "UTC") == UTC_ZONE


def load(tmp_path: Path, **env: str):
    return load_settings(env, env_file=tmp_path / "none.env")


def test_the_working_week_settings(tmp_path) -> None:
    default = load(tmp_path)
    assert working_week(default) == OFFICE
    assert default.reminder_min_idle_hours == 0
    assert default.reminder_ignore_labels == frozenset()
    custom = load(
        tmp_path,
        REMINDER_WORKING_HOURS="08:30-24:00",
        REMINDER_WORKING_DAYS="0,2-3,6",
        REMINDER_MIN_IDLE_HOURS="4.5",
        REMINDER_IGNORE_LABELS="On Hold, wip ,,",
    )
    assert working_week(custom) == WorkingWeek(510, 1440, frozenset({7, 2, 3, 6}))
    assert custom.reminder_min_idle_hours == 4.5
    assert custom.reminder_ignore_labels == frozenset({"on hold", "wip"})
    assert load(tmp_path, REMINDER_WORKING_DAYS="*").reminder_working_days == frozenset(range(1, 8))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REMINDER_WORKING_HOURS", "9-18"),
        ("REMINDER_WORKING_HOURS", "18:00-09:00"),
        ("REMINDER_WORKING_HOURS", "09:00-24:01"),
        ("REMINDER_WORKING_HOURS", "09:60-18:00"),
        ("REMINDER_WORKING_HOURS", "\u00b9\u2079:00-18:00"),
        ("REMINDER_WORKING_DAYS", "5-1"),
        ("REMINDER_WORKING_DAYS", "1-8"),
        ("REMINDER_MIN_IDLE_HOURS", "-1"),
        ("REMINDER_MIN_IDLE_HOURS", "nan"),
        ("REMINDER_MIN_IDLE_HOURS", "soon"),
    ],
)
def test_malformed_working_week_settings_name_the_setting(tmp_path, name, value) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, **{name: value})
    assert caught.value.setting == name


def test_adding_working_minutes_skips_nights_and_weekends() -> None:
    friday_five_pm = MONDAY + timedelta(days=4, hours=17)
    assert add_working_minutes(friday_five_pm, 30, UTC_ZONE, OFFICE) == friday_five_pm + timedelta(
        minutes=30
    )
    # One hour left on Friday, the second one on Monday from 09:00.
    assert add_working_minutes(friday_five_pm, 120, UTC_ZONE, OFFICE) == MONDAY + timedelta(
        days=7, hours=10
    )
    # Exactly a week of work from Monday 09:00 ends on Friday at 18:00.
    monday_nine = MONDAY + timedelta(hours=9)
    assert add_working_minutes(monday_nine, 45 * 60, UTC_ZONE, OFFICE) == MONDAY + timedelta(
        days=4, hours=18
    )
    assert add_working_minutes(monday_nine, 60, UTC_ZONE, WorkingWeek(days=frozenset())) is None


@settings(max_examples=60, deadline=None)
@given(
    week=weeks.filter(lambda w: w.minutes_per_week > 0),
    start=st.integers(0, 60 * 24 * 30),
    minutes=st.integers(1, 60 * 24 * 60),
    zone=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"]),
)
def test_adding_minutes_is_the_inverse_of_counting_them(week, start, minutes, zone) -> None:
    begin = MONDAY + timedelta(minutes=start)
    tz = ZoneInfo(zone)
    end = add_working_minutes(begin, minutes, tz, week)
    assert end is not None
    # The first instant at which that many working minutes have gone by.
    assert working_minutes(begin, end, tz, week) == minutes
    assert working_minutes(begin, end - timedelta(minutes=1), tz, week) == minutes - 1
