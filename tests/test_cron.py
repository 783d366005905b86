"""Crontab day-of-week numbering (0 or 7 = Sunday), which APScheduler 3 counts otherwise."""

from datetime import UTC, datetime

import pytest

from bot.jobs.cron import crontab_days, crontab_trigger


@pytest.mark.parametrize(
    ("field", "days"),
    [
        ("*", "*"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("5-7", "sun,fri,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("1/3", "mon,thu"),
        ("mon-fri", "mon,tue,wed,thu,fri"),
        ("sat,sun", "sun,sat"),
        ("1,3,5", "mon,wed,fri"),
    ],
)
def test_crontab_days(field: str, days: str) -> None:
    assert crontab_days(field) == days


@pytest.mark.parametrize("field", ["8", "fri-mon", "x", "1/0"])
def test_bad_days_are_refused(field: str) -> None:
    with pytest.raises(ValueError):
        crontab_days(field)


def test_weekdays_skip_the_weekend_in_the_time_zone() -> None:
    trigger = crontab_trigger("30 15 * * 1-5", "America/New_York")
    friday_evening = datetime(2026, 1, 9, 23, 0, tzinfo=UTC)  # 18:00 in New York
    fire = trigger.get_next_fire_time(None, friday_evening)
    # Monday 15:30 in New York (EST, UTC-5).
    assert fire.astimezone(UTC) == datetime(2026, 1, 12, 20, 30, tzinfo=UTC)
