"""The reminder settings: defaults, the forms they take, and one line for a bad one."""

from __future__ import annotations

import pytest

from bot.settings import ConfigError, load_settings


def load(tmp_path, **env: str):
    return load_settings(env, env_file=tmp_path / "none.env")


def test_defaults(tmp_path) -> None:
    s = load(tmp_path)
    assert s.reminder_min_idle_hours == 0
    assert s.reminder_working_hours == (540, 1080)
    assert s.reminder_working_days == frozenset({1, 2, 3, 4, 5})
    assert s.reminder_ignore_labels == frozenset()
    assert s.reminder_escalate_days is None


def test_values(tmp_path) -> None:
    s = load(
        tmp_path,
        REMINDER_MIN_IDLE_HOURS="4.5",
        REMINDER_WORKING_HOURS="08:30-24:00",
        REMINDER_WORKING_DAYS="0,6-7",  # crontab numbers: Sunday, Saturday, Sunday
        REMINDER_IGNORE_LABELS=" WIP, Do Not Merge ,,",
        REMINDER_ESCALATE_DAYS="3",
    )
    assert s.reminder_min_idle_hours == 4.5
    assert s.reminder_working_hours == (510, 1440)
    assert s.reminder_working_days == frozenset({6, 7})
    assert s.reminder_ignore_labels == frozenset({"wip", "do not merge"})
    assert s.reminder_escalate_days == 3
    assert load(tmp_path, REMINDER_WORKING_DAYS="mon-fri").reminder_working_days == frozenset(
        {1, 2, 3, 4, 5}
    )
    assert load(tmp_path, REMINDER_WORKING_DAYS="*").reminder_working_days == frozenset(range(1, 8))
    other = load(
        tmp_path, REMINDER_WORKING_DAYS="0,2-3,6", REMINDER_IGNORE_LABELS="On Hold, wip ,,"
    )
    assert other.reminder_working_days == frozenset({7, 2, 3, 6})
    assert other.reminder_ignore_labels == frozenset({"on hold", "wip"})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REMINDER_WORKING_HOURS", "9-18"),
        ("REMINDER_WORKING_HOURS", "18:00-09:00"),
        ("REMINDER_WORKING_HOURS", "09:00-24:30"),
        ("REMINDER_WORKING_HOURS", "09:60-10:00"),
        ("REMINDER_WORKING_HOURS", "09:00-24:01"),
        ("REMINDER_WORKING_HOURS", "\u00b9\u2079:00-18:00"),  # digits, but not ASCII ones
        ("REMINDER_WORKING_DAYS", "1-8"),
        ("REMINDER_WORKING_DAYS", "8"),
        ("REMINDER_WORKING_DAYS", "5-1"),
        ("REMINDER_MIN_IDLE_HOURS", "-1"),
        ("REMINDER_MIN_IDLE_HOURS", "nan"),
        ("REMINDER_MIN_IDLE_HOURS", "soon"),
        ("REMINDER_ESCALATE_DAYS", "0"),
        ("REMINDER_ESCALATE_DAYS", "two"),
    ],
)
def test_a_malformed_value_names_the_setting(tmp_path, name, value) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, **{name: value})
    assert raised.value.setting == name
    assert "\n" not in str(raised.value)
