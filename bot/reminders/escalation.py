"""Escalation: which idle requests are named in SLACK_CHANNEL (pure).

A request idle REMINDER_ESCALATE_DAYS working days, counted on its reviewer's clock
(their zone, hours and days), is named in the team channel once per the team's day
(TIMEZONE), at the team's reminder time. It is the team's view: a reviewer's snooze or
opt-out holds their own reminders, not this.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.slack.identity import metadata_slack_id
from bot.slack.messages import Escalated
from bot.worktime import WorkingWeek, working_seconds

# Beyond this a wait is shown as this many working days (no walk over years of days).
MAX_COUNTED_DAYS = 365


@dataclass(frozen=True)
class Escalation:
    pull_request_id: int
    user_id: int
    item: Escalated


def mention(login: str, metadata: dict[str, Any]) -> str:
    """How the channel message names a reviewer: a Slack mention when we know them."""
    slack_id = metadata_slack_id(metadata)
    return f"<@{slack_id}>" if slack_id else f"@{login}"


def escalations_due(
    reviewers: Iterable[Any],
    now: datetime,
    work: WorkingWeek,
    days: int,
    skip: Collection[tuple[int, int]] = (),
) -> list[Escalation]:
    """The requests idle at least `days` working days, each on its reviewer's clock.

    `reviewers` are the reminder's reviewers (`zone` resolved, `requests` listed);
    `skip` holds (pull request id, user id) of requests already named today.
    """
    needed = days * work.day_seconds
    cap = max(days, MAX_COUNTED_DAYS) * work.day_seconds
    found = []
    for reviewer in reviewers:
        zone = reviewer.zone.zone
        for request in reviewer.requests:
            if (request.pull_request_id, reviewer.user_id) in skip:
                continue
            # Whether it passed the threshold is cheap to know; how far, only then.
            if working_seconds(request.requested_at, now, zone, work, at_most=needed) < needed:
                continue
            idle = working_seconds(request.requested_at, now, zone, work, at_most=cap)
            item = Escalated(
                request.pr,
                mention(reviewer.login, reviewer.metadata),
                int(idle // work.day_seconds),
            )
            found.append(Escalation(request.pull_request_id, reviewer.user_id, item))
    return found
