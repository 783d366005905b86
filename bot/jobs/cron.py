"""Crontab expressions as APScheduler triggers, with crontab's day-of-week numbering.

APScheduler 3's `CronTrigger.from_crontab` passes the day-of-week field through in its
own numbering (0 = Monday), so `30 15 * * 1-5` would mean Tuesday to Saturday. Crontab
counts from Sunday (0 or 7 = Sunday, 1 = Monday): we translate the field into day names.
"""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

# Crontab's numbering: index = crontab number.
CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAMES = {name: number for number, name in enumerate(CRONTAB_DAYS[:7])}


def _day_number(token: str) -> int:
    token = token.strip().lower()
    if token in NAMES:
        return NAMES[token]
    if not token.isdigit() or int(token) > 7:
        raise ValueError(f"day of week {token!r} is not 0-7 or a day name")
    return int(token)


def crontab_days(field: str) -> str:
    """A crontab day-of-week field as a comma list of day names APScheduler reads."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step {step_text!r} must be at least 1")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            start, _, end = span.partition("-")
            first, last = _day_number(start), _day_number(end)
            if last < first:
                raise ValueError(f"range {span!r} runs backwards")
        else:
            first = last = _day_number(span)
            if step_text:
                last = 6  # `n/step` means from n to the end of the week
        days.update(n % 7 for n in range(first, last + 1, step))
    return ",".join(CRONTAB_DAYS[n] for n in sorted(days))


def crontab_trigger(expression: str, timezone: str) -> CronTrigger:
    """A trigger for a five-field crontab expression, read in `timezone`."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 crontab fields, got {len(fields)}")
    minute, hour, day, month, day_of_week = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_days(day_of_week),
        timezone=timezone,
    )
