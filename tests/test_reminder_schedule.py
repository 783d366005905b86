"""REMINDER_CRON is read in each person's zone: today's reminder time for a fixed clock."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.jobs.reminders import local_day
from bot.reminders.schedule import reminder_time_today, schedule_reached

SOFIA = ZoneInfo("Europe/Sofia")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Sofia is UTC+2 in winter: 15:30 there is 13:30 UTC.
        (datetime(2026, 1, 5, 14, 0, tzinfo=UTC), datetime(2026, 1, 5, 13, 30, tzinfo=UTC)),
        # UTC+3 in summer: 12:30 UTC.
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), datetime(2026, 7, 1, 12, 30, tzinfo=UTC)),
    ],
)
def test_the_default_time_is_half_past_three_local_time(now, expected) -> None:
    fire = reminder_time_today(now, SOFIA, "30 15 * * *")
    assert fire == expected
    assert (fire.hour, fire.minute, str(fire.tzinfo)) == (15, 30, "Europe/Sofia")
    assert schedule_reached(now, SOFIA, "30 15 * * *") is (now >= expected)


def test_a_custom_cron_names_no_time_on_the_weekend() -> None:
    cron = "0 9 * * mon-fri"
    saturday = datetime(2026, 1, 10, 17, 0, tzinfo=UTC)
    monday = datetime(2026, 1, 12, 17, 0, tzinfo=UTC)
    assert reminder_time_today(saturday, NEW_YORK, cron) is None
    assert not schedule_reached(saturday, NEW_YORK, cron)
    assert reminder_time_today(monday, NEW_YORK, cron) == datetime(
        2026, 1, 12, 14, 0, tzinfo=UTC
    )  # Monday 09:00 EST


def test_the_local_day_follows_the_time_zone() -> None:
    late_evening_utc = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    assert local_day(late_evening_utc, "UTC") == "2026-01-05"
    assert local_day(late_evening_utc, "Europe/Sofia") == "2026-01-06"
    assert local_day(late_evening_utc, "America/Los_Angeles") == "2026-01-05"
