"""The periodic jobs the scheduler runs: one line each."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger

from bot.jobs import pull_requests, redeliver, reminders, reviews
from bot.jobs.scheduler import JobSpec
from bot.releases import work as releases
from bot.reminders.schedule import quarter_hours
from bot.settings import Settings

# The first runs come this soon after start-up (webhooks may have been lost meanwhile),
# the fetchers a little apart so they do not page the same lists at the same moment.
FIRST_RUN_DELAY = timedelta(minutes=1)


def every(
    setting: str, delay: timedelta = FIRST_RUN_DELAY
) -> Callable[[Settings], IntervalTrigger]:
    """An interval trigger: every `settings.<setting>` minutes, first after `delay`."""

    def trigger(settings: Settings) -> IntervalTrigger:
        return IntervalTrigger(
            minutes=getattr(settings, setting), start_date=datetime.now(UTC) + delay
        )

    return trigger


def every_redeliver_minutes(settings: Settings) -> IntervalTrigger | None:
    """Every REDELIVER_MINUTES, first soon after start-up (a deploy may have failed some).

    0 turns the backstop off.
    """
    if not settings.redeliver_minutes:
        return None
    return every("redeliver_minutes")(settings)


def every_minute(settings: Settings) -> IntervalTrigger:
    return IntervalTrigger(minutes=1, start_date=datetime.now(UTC) + timedelta(seconds=30))


JOBS: tuple[JobSpec, ...] = (
    JobSpec(pull_requests.NAME, every("pull_request_sync_minutes"), pull_requests.job),
    JobSpec(reviews.NAME, every("review_sync_minutes", 2 * FIRST_RUN_DELAY), reviews.job),
    # Every quarter hour, so REMINDER_CRON's time is reached in every person's zone; the
    # reminders table keeps each person to one reminder per their local day.
    JobSpec("IdlersReminder", quarter_hours, reminders.scheduled_reminders),
    # Finishes what a release's after-the-answer work left undone (a crash, a source down).
    JobSpec(releases.NAME, every_minute, releases.process_pending_releases),
    # Asks GitHub again for the deliveries that failed here (GitHub never does by itself).
    JobSpec(redeliver.NAME, every_redeliver_minutes, redeliver.job),
)
