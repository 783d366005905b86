"""IdlersReminder: nudge each idle reviewer once per their local working day, on their clock.

The job wakes every quarter hour (`bot.reminders.schedule`). Each person is looked at in
their own time zone (`metadata.timezone`, their Slack profile's, else TIMEZONE): they are
due inside their working hours on a working day, once REMINDER_CRON's time has come on
their day, unless snoozed, opted out, already reminded on that local day, or nothing of
theirs has been idle REMINDER_MIN_IDLE_HOURS working hours. `reviewer remind` reminds
everyone inside their hours now, whatever the time REMINDER_CRON names.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from starlette.datastructures import State

from bot.logs import log_context
from bot.reminders import escalation
from bot.reminders.people import PersonZone, opted_out, snoozed_until
from bot.reminders.schedule import reminder_time_today, schedule_reached
from bot.reminders.zones import zone_of
from bot.settings import Settings
from bot.slack.identity import metadata_slack_id
from bot.slack.messages import (
    MAX_USERS_PER_CHANNEL_MESSAGE,
    IdlePullRequest,
    Message,
    channel_message,
    escalation_message,
    idle_dm,
)
from bot.store import reminders as store
from bot.store.database import Database
from bot.store.users import update_metadata
from bot.worktime import WorkingWeek, is_working_time, working_seconds

log = logging.getLogger(__name__)


def local_day(now: datetime, timezone: str) -> str:
    """The day `now` falls on in `timezone`, as YYYY-MM-DD: reminders go out once per it."""
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()


@dataclass(frozen=True)
class Request:
    """One idle review request of a reviewer, as the reminder sees it."""

    pull_request_id: int
    requested_at: datetime
    labels: tuple[str, ...]
    pr: IdlePullRequest


@dataclass
class Reviewer:
    user_id: int
    login: str
    metadata: dict[str, Any]
    requests: list[Request] = field(default_factory=list)
    zone: PersonZone | None = None
    # Their local day (YYYY-MM-DD), on which they are reminded at most once.
    day: str = ""
    # What the reminder lists: the requests idle long enough (set once they are due).
    pull_requests: list[IdlePullRequest] = field(default_factory=list)


@dataclass
class Outgoing:
    """One message and where it goes; `outcome` is sent, failed or dry-run once handled."""

    target: str
    message: Message
    reviewers: list[Reviewer]
    outcome: str = "pending"
    error: str | None = None

    @property
    def logins(self) -> list[str]:
        return [r.login for r in self.reviewers]


@dataclass(frozen=True)
class PersonStatus:
    """Where a reviewer stands this run: their zone, and due now or why not."""

    login: str
    zone: str
    local_time: str
    why_not: str | None  # None: due now

    def line(self) -> str:
        state = "due now" if self.why_not is None else f"not now: {self.why_not}"
        return f"{self.login}: {self.zone}, {self.local_time}, {state}"


@dataclass
class ReminderSummary:
    """What a run did, counted in reviewers: reminded, failed, or skipped (and why)."""

    day: str
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    skipped_why: dict[str, str] = field(default_factory=dict)  # login -> reason
    messages: list[Outgoing] = field(default_factory=list)
    people: list[PersonStatus] = field(default_factory=list)
    escalated: int = 0

    def skip(self, reviewer: Reviewer, why: str) -> None:
        self.skipped += 1
        self.skipped_why[reviewer.login] = why

    def as_log(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "sent": self.sent,
            "failed": self.failed,
            "skipped": self.skipped,
            "messages": len(self.messages),
            "escalated": self.escalated,
        }


def ignored(labels: Any, ignore: frozenset[str]) -> bool:
    """Whether a pull request carries one of the REMINDER_IGNORE_LABELS (any case)."""
    if not ignore or not isinstance(labels, list):
        return False
    return any(isinstance(label, str) and label.lower() in ignore for label in labels)


def reviewers_from_rows(
    rows: Iterable[dict[str, Any]], now: datetime, ignore: frozenset[str] = frozenset()
) -> list[Reviewer]:
    """Group the idle-review rows by reviewer, in the order the rows came; leave out
    pull requests carrying an ignored label."""
    by_user: dict[int, Reviewer] = {}
    for row in rows:
        if ignored(row["labels"], ignore):
            continue
        reviewer = by_user.get(row["user_id"])
        if reviewer is None:
            metadata = row["metadata"] if isinstance(row["metadata"], dict) else {}
            reviewer = by_user[row["user_id"]] = Reviewer(row["user_id"], row["username"], metadata)
        reviewer.requests.append(request_from_row(row, now))
    return list(by_user.values())


def request_from_row(row: dict[str, Any], now: datetime) -> Request:
    labels = row["labels"] if isinstance(row["labels"], list) else []
    return Request(
        pull_request_id=row["pull_request_id"],
        requested_at=row["requested_at"],
        labels=tuple(str(label) for label in labels),
        pr=IdlePullRequest(
            title=row["title"],
            url=row["url"],
            number=row["number"],
            repository=f"{row['repo_owner']}/{row['repo_name']}",
            author=row["author"],
            waiting=now - row["requested_at"],
        ),
    )


def idle_long_enough(
    requests: Iterable[Request], now: datetime, zone: ZoneInfo, work: WorkingWeek, hours: float
) -> list[Request]:
    """The requests idle at least `hours` of working time in `zone`."""
    if hours <= 0:
        return list(requests)
    needed = hours * 3600
    return [
        r
        for r in requests
        if working_seconds(r.requested_at, now, zone, work, at_most=needed) >= needed
    ]


def why_not_due(
    reviewer: Reviewer,
    now: datetime,
    settings: Settings,
    *,
    on_schedule: bool,
) -> str | None:
    """Why the reviewer is not reminded now (None: they are due). Sets what they would get."""
    assert reviewer.zone is not None
    zone = reviewer.zone.zone
    local = now.astimezone(zone)
    work = WorkingWeek.from_settings(settings)
    if opted_out(reviewer.metadata):
        return "reminders are off in their metadata"
    if not work.is_working_day(local.date()):
        return f"not a working day ({local:%A})"
    if not is_working_time(now, zone, work):
        return f"outside working hours ({local:%H:%M} local)"
    if on_schedule:
        fire = reminder_time_today(now, zone, settings.reminder_cron)
        if fire is None:
            return "REMINDER_CRON names no time today"
        if fire > now:
            return f"before the reminder time ({fire.astimezone(zone):%H:%M} local)"
    until = snoozed_until(reviewer.metadata, zone, now)
    if until is not None:
        return f"snoozed until {until.astimezone(zone).isoformat(timespec='minutes')}"
    waiting = idle_long_enough(reviewer.requests, now, zone, work, settings.reminder_min_idle_hours)
    if not waiting:
        hours = f"{settings.reminder_min_idle_hours:g}"
        return f"nothing idle for {hours} working hours yet"
    reviewer.pull_requests = [r.pr for r in waiting]
    return None


async def find_slack_id(
    slack: AsyncWebClient, db: Database, reviewer: Reviewer, *, remember: bool
) -> str | None:
    """Ask Slack for the reviewer by the email in their metadata; keep what it finds."""
    email = reviewer.metadata.get("email")
    if not isinstance(email, str) or "@" not in email:
        return None
    try:
        answer = await slack.users_lookupByEmail(email=email.strip())
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else None
        if error != "users_not_found":
            log.warning(
                "Slack lookup by email failed", extra={"login": reviewer.login, "error": error}
            )
        return None
    except Exception as exc:  # a network failure leaves the reviewer to the channel
        log.warning(
            "Slack lookup by email failed", extra={"login": reviewer.login, "error": repr(exc)}
        )
        return None
    slack_id = (answer.get("user") or {}).get("id")
    if slack_id and remember:
        await update_metadata(db, reviewer.user_id, {"slack_id": slack_id})
        log.info("stored the Slack id found by email", extra={"login": reviewer.login})
    return slack_id


async def send(slack: AsyncWebClient, outgoing: Outgoing) -> None:
    """Post one message; record the outcome on it instead of raising."""
    try:
        await slack.chat_postMessage(
            channel=outgoing.target,
            text=outgoing.message.text,
            blocks=outgoing.message.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        outgoing.outcome = "failed"
        outgoing.error = exc.response.get("error") if exc.response is not None else str(exc)
    except Exception as exc:  # after slack_sdk's own retries; one failure must not stop the run
        outgoing.outcome = "failed"
        outgoing.error = repr(exc)
    else:
        outgoing.outcome = "sent"


async def remind_idlers(
    state: State, *, dry_run: bool = False, on_schedule: bool = False
) -> ReminderSummary:
    """Remind, now, every idle reviewer who is due on their own clock.

    `state` is the app's state (settings, db, clock, slack). `on_schedule` (the scheduled
    job) also waits for REMINDER_CRON's time on each person's day. With `dry_run` nothing
    is sent or stored; the summary's `messages` and `people` say what would happen.
    """
    settings: Settings = state.settings
    now: datetime = state.clock()
    summary = ReminderSummary(local_day(now, settings.timezone))
    run = _Run(state, summary, now, dry_run=dry_run, on_schedule=on_schedule)
    token = log_context.set({**(log_context.get() or {}), "job": "remind_idlers"})
    try:
        rows = await store.idle_reviews(state.db)
        reviewers = reviewers_from_rows(rows, now, settings.reminder_ignore_labels)
        await run.remind(reviewers, settings.slack_channel)
        if settings.reminder_escalate_days and reviewers:
            await run.escalate(reviewers, settings)
    finally:
        log_context.reset(token)
    return run.summary


async def scheduled_reminders(state: State) -> ReminderSummary:
    """The scheduled job: every quarter hour, each person at REMINDER_CRON's time on their day."""
    return await remind_idlers(state, on_schedule=True)


@dataclass
class _Run:
    """One run of the reminder; a dry run sends and stores nothing."""

    state: State
    summary: ReminderSummary
    now: datetime
    dry_run: bool = False
    on_schedule: bool = False

    @property
    def db(self) -> Database:
        return self.state.db

    @property
    def slack(self) -> AsyncWebClient | None:
        return self.state.slack

    async def remind(self, reviewers: list[Reviewer], channel: str | None) -> None:
        summary = self.summary
        if not reviewers:
            log.info("nothing is idle; no reminders", extra=summary.as_log())
            return
        settings: Settings = self.state.settings
        zones = getattr(self.state, "slack_zones", None)
        for reviewer in reviewers:
            reviewer.zone = await zone_of(reviewer.metadata, settings.timezone, zones)
            reviewer.day = self.now.astimezone(reviewer.zone.zone).date().isoformat()
        if self.slack is None and not self.dry_run:
            for reviewer in reviewers:
                summary.skip(reviewer, "Slack is off")
            log.warning("Slack is off; no reminders sent", extra=summary.as_log())
            return
        due = await self.due(reviewers, settings)
        direct, unnamed = await self.targets(due)
        for slack_id, reviewer in direct:
            if await self.claim([reviewer], slack_id):
                message = idle_dm(reviewer.pull_requests, snooze_for=reviewer.user_id)
                await self.deliver(Outgoing(slack_id, message, [reviewer]))
        if unnamed and not channel:
            for reviewer in unnamed:
                summary.skip(reviewer, "no slack_id and no SLACK_CHANNEL")
            log.warning(
                "reviewers without a Slack id, and no SLACK_CHANNEL to name them in",
                extra={"logins": [r.login for r in unnamed]},
            )
        elif unnamed and channel:
            claimed = await self.claim(unnamed, channel)
            for i in range(0, len(claimed), MAX_USERS_PER_CHANNEL_MESSAGE):
                group = claimed[i : i + MAX_USERS_PER_CHANNEL_MESSAGE]
                message = channel_message({r.login: r.pull_requests for r in group})
                await self.deliver(Outgoing(channel, message, group))
        log.info("reminders done", extra={**summary.as_log(), "dry_run": self.dry_run})

    async def escalate(self, reviewers: list[Reviewer], settings: Settings) -> None:
        """Name the requests idle REMINDER_ESCALATE_DAYS working days in SLACK_CHANNEL,
        once per the team's day, inside the team's hours (TIMEZONE)."""
        days = settings.reminder_escalate_days
        assert days is not None
        channel = settings.slack_channel
        team = ZoneInfo(settings.timezone)
        work = WorkingWeek.from_settings(settings)
        if not channel:
            log.warning("REMINDER_ESCALATE_DAYS is set but SLACK_CHANNEL is not; no escalation")
            return
        if not is_working_time(self.now, team, work):
            return
        if self.on_schedule and not schedule_reached(self.now, team, settings.reminder_cron):
            return
        if self.slack is None and not self.dry_run:
            return
        day = self.summary.day
        already = await store.escalated_on(self.db, day)
        found = escalation.escalations_due(reviewers, self.now, work, days, skip=already)
        if not self.dry_run:
            found = [
                e
                for e in found
                if await store.claim_escalation(
                    self.db, e.pull_request_id, e.user_id, day, self.now
                )
            ]
        if not found:
            return
        outgoing = Outgoing(channel, escalation_message([e.item for e in found], days), [])
        self.summary.messages.append(outgoing)
        if self.dry_run or self.slack is None:
            outgoing.outcome = "dry-run"
            return
        await send(self.slack, outgoing)
        pairs = [(e.pull_request_id, e.user_id) for e in found]
        if outgoing.outcome == "sent":
            self.summary.escalated += len(found)
            log.info("escalation sent", extra={"target": channel, "requests": len(found)})
        else:
            await store.release_escalations(self.db, pairs, day)
            log.warning("escalation not sent", extra={"target": channel, "error": outgoing.error})

    async def due(self, reviewers: list[Reviewer], settings: Settings) -> list[Reviewer]:
        """The reviewers due now; the others are skipped with the reason."""
        days = {reviewer.day for reviewer in reviewers}
        already = await store.reminded_on(self.db, days)
        due = []
        for reviewer in reviewers:
            why = why_not_due(reviewer, self.now, settings, on_schedule=self.on_schedule)
            if why is None and (reviewer.user_id, reviewer.day) in already:
                why = f"already reminded on {reviewer.day}"
            assert reviewer.zone is not None
            local = self.now.astimezone(reviewer.zone.zone)
            self.summary.people.append(
                PersonStatus(reviewer.login, str(reviewer.zone), f"{local:%a %H:%M}", why)
            )
            if why is None:
                due.append(reviewer)
            else:
                self.summary.skip(reviewer, why)
        return due

    async def targets(
        self, reviewers: list[Reviewer]
    ) -> tuple[list[tuple[str, Reviewer]], list[Reviewer]]:
        """(Slack id, reviewer) for each DM, and the reviewers to name in the channel."""
        direct: list[tuple[str, Reviewer]] = []
        unnamed: list[Reviewer] = []
        for reviewer in reviewers:
            slack_id = metadata_slack_id(reviewer.metadata)
            if slack_id is None and self.slack is not None:
                slack_id = await find_slack_id(
                    self.slack, self.db, reviewer, remember=not self.dry_run
                )
            if slack_id:
                direct.append((slack_id, reviewer))
            else:
                unnamed.append(reviewer)
        return direct, unnamed

    async def claim(self, reviewers: list[Reviewer], target: str) -> list[Reviewer]:
        """The reviewers this run may remind on their day; a concurrent run may have some."""
        if self.dry_run:
            return reviewers
        claimed = []
        for reviewer in reviewers:
            if await store.claim(self.db, reviewer.user_id, reviewer.day, target, self.now):
                claimed.append(reviewer)
            else:
                self.summary.skip(reviewer, f"already reminded on {reviewer.day}")
        return claimed

    async def deliver(self, outgoing: Outgoing) -> None:
        self.summary.messages.append(outgoing)
        if self.dry_run or self.slack is None:
            outgoing.outcome = "dry-run"
            return
        await send(self.slack, outgoing)
        extra = {"target": outgoing.target, "logins": outgoing.logins}
        if outgoing.outcome == "sent":
            self.summary.sent += len(outgoing.reviewers)
            log.info("reminder sent", extra=extra)
        else:
            self.summary.failed += len(outgoing.reviewers)
            # Given back, so a later run today may try them again.
            for reviewer in outgoing.reviewers:
                await store.release(self.db, [reviewer.user_id], reviewer.day)
            log.warning("reminder not sent", extra={**extra, "error": outgoing.error})
