"""REMINDER_CRON read on each person's own clock: has today's reminder time come for them?"""

from __future__ import annotations

from datetime import datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.jobs.cron import crontab_trigger

# The scheduled job wakes this often, so every zone's reminder time is reached.
WAKE_MINUTES = 15


@lru_cache(maxsize=256)
def _trigger(cron: str, zone: str) -> CronTrigger:
    return crontab_trigger(cron, zone)


def reminder_time_today(now: datetime, zone: ZoneInfo, cron: str) -> datetime | None:
    """When REMINDER_CRON first fires on `now`'s local day in `zone`; None if it does not."""
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date(), time(0), tzinfo=zone)
    fire = _trigger(cron, zone.key).get_next_fire_time(None, midnight)
    if fire is None or fire.astimezone(zone).date() != local.date():
        return None
    return fire


def schedule_reached(now: datetime, zone: ZoneInfo, cron: str) -> bool:
    """Whether REMINDER_CRON has fired today, at or before `now`, in `zone`."""
    fire = reminder_time_today(now, zone, cron)
    return fire is not None and fire <= now


def quarter_hours(settings: object) -> CronTrigger:
    """The reminder job's own trigger: every quarter hour, in UTC."""
    del settings
    return CronTrigger(minute=f"*/{WAKE_MINUTES}", timezone="UTC")
