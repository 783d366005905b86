"""REMINDER_CRON is read in TIMEZONE: the next fire time for a fixed clock."""

from datetime import UTC, datetime

import pytest

from bot.jobs.reminders import local_day, reminder_trigger
from bot.settings import load_settings


def settings(tmp_path, **env):
    return load_settings(env, env_file=tmp_path / "none.env")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 16:00 in Sofia (UTC+2 in winter): today's 15:30 has passed, so tomorrow's.
        (datetime(2026, 1, 5, 14, 0, tzinfo=UTC), datetime(2026, 1, 6, 13, 30, tzinfo=UTC)),
        # 15:00 in Sofia (UTC+3 in summer): today's 15:30 local, 12:30 UTC.
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), datetime(2026, 7, 1, 12, 30, tzinfo=UTC)),
    ],
)
def test_the_default_schedule_is_half_past_three_local_time(tmp_path, now, expected) -> None:
    trigger = reminder_trigger(settings(tmp_path, TIMEZONE="Europe/Sofia"))
    fire = trigger.get_next_fire_time(None, now)
    assert fire == expected
    assert (fire.hour, fire.minute, str(fire.tzinfo)) == (15, 30, "Europe/Sofia")


def test_a_custom_cron_skips_the_weekend(tmp_path) -> None:
    trigger = reminder_trigger(
        settings(tmp_path, REMINDER_CRON="0 9 * * mon-fri", TIMEZONE="America/New_York")
    )
    friday_noon_in_new_york = datetime(2026, 1, 9, 17, 0, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, friday_noon_in_new_york)
    assert fire == datetime(2026, 1, 12, 14, 0, tzinfo=UTC)  # Monday 09:00 EST


def test_utc_is_the_default_time_zone(tmp_path) -> None:
    trigger = reminder_trigger(settings(tmp_path))
    fire = trigger.get_next_fire_time(None, datetime(2026, 1, 5, 15, 29, tzinfo=UTC))
    assert fire == datetime(2026, 1, 5, 15, 30, tzinfo=UTC)


def test_the_local_day_follows_the_time_zone() -> None:
    late_evening_utc = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    assert local_day(late_evening_utc, "UTC") == "2026-01-05"
    assert local_day(late_evening_utc, "Europe/Sofia") == "2026-01-06"
    assert local_day(late_evening_utc, "America/Los_Angeles") == "2026-01-05"
