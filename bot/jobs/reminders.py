"""IdlersReminder: nudge every idle reviewer once a day, by DM or in the team channel."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from starlette.datastructures import State

from bot.jobs.cron import crontab_trigger
from bot.logs import log_context
from bot.settings import Settings
from bot.slack.identity import metadata_slack_id
from bot.slack.messages import (
    MAX_USERS_PER_CHANNEL_MESSAGE,
    IdlePullRequest,
    Message,
    channel_message,
    idle_dm,
)
from bot.store import reminders as store
from bot.store.database import Database
from bot.store.users import update_metadata

log = logging.getLogger(__name__)

OPT_OUT_VALUES = (False, "false", "off", "no")


def reminder_trigger(settings: Settings) -> CronTrigger:
    """When the reminder runs: REMINDER_CRON read in TIMEZONE."""
    return crontab_trigger(settings.reminder_cron, settings.timezone)


def local_day(now: datetime, timezone: str) -> str:
    """The day `now` falls on in `timezone`, as YYYY-MM-DD: reminders go out once per it."""
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()


@dataclass
class Reviewer:
    user_id: int
    login: str
    metadata: dict[str, Any]
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


@dataclass
class ReminderSummary:
    """What a run did, counted in reviewers: reminded, failed, or skipped (and why)."""

    day: str
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    skipped_why: dict[str, str] = field(default_factory=dict)  # login -> reason
    messages: list[Outgoing] = field(default_factory=list)

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
        }


def reviewers_from_rows(rows: list[dict[str, Any]], now: datetime) -> list[Reviewer]:
    """Group the idle-review rows by reviewer, in the order the rows came."""
    by_user: dict[int, Reviewer] = {}
    for row in rows:
        reviewer = by_user.get(row["user_id"])
        if reviewer is None:
            metadata = row["metadata"] if isinstance(row["metadata"], dict) else {}
            reviewer = by_user[row["user_id"]] = Reviewer(row["user_id"], row["username"], metadata)
        reviewer.pull_requests.append(
            IdlePullRequest(
                title=row["title"],
                url=row["url"],
                number=row["number"],
                repository=f"{row['repo_owner']}/{row['repo_name']}",
                author=row["author"],
                waiting=now - row["requested_at"],
            )
        )
    return list(by_user.values())


def opted_out(metadata: dict[str, Any]) -> bool:
    value = metadata.get("reminders", True)
    return value in OPT_OUT_VALUES or (isinstance(value, str) and value.lower() in OPT_OUT_VALUES)


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


async def remind_idlers(state: State, *, dry_run: bool = False) -> ReminderSummary:
    """Send today's reminders: a DM per reviewer Slack knows, the channel for the rest.

    `state` is the app's state (settings, db, clock, slack). With `dry_run` nothing is
    sent or stored; the summary's `messages` say what would have gone where.
    """
    settings: Settings = state.settings
    now: datetime = state.clock()
    summary = ReminderSummary(local_day(now, settings.timezone))
    run = _Run(state.db, state.slack, summary, now, dry_run=dry_run)
    token = log_context.set({**(log_context.get() or {}), "job": "remind_idlers"})
    try:
        await run.remind(await store.idle_reviews(run.db), settings.slack_channel)
    finally:
        log_context.reset(token)
    return run.summary


@dataclass
class _Run:
    """One run of the reminder; a dry run sends and stores nothing."""

    db: Database
    slack: AsyncWebClient | None
    summary: ReminderSummary
    now: datetime
    dry_run: bool = False

    async def remind(self, rows: list[dict[str, Any]], channel: str | None) -> None:
        summary = self.summary
        reviewers = reviewers_from_rows(rows, self.now)
        if not reviewers:
            log.info("nothing is idle; no reminders", extra=summary.as_log())
            return
        if self.slack is None and not self.dry_run:
            for reviewer in reviewers:
                summary.skip(reviewer, "Slack is off")
            log.warning("Slack is off; no reminders sent", extra=summary.as_log())
            return
        direct, unnamed = await self.targets(reviewers)
        for slack_id, reviewer in direct:
            if await self.claim([reviewer], slack_id):
                await self.deliver(Outgoing(slack_id, idle_dm(reviewer.pull_requests), [reviewer]))
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

    async def targets(
        self, reviewers: list[Reviewer]
    ) -> tuple[list[tuple[str, Reviewer]], list[Reviewer]]:
        """(Slack id, reviewer) for each DM, and the reviewers to name in the channel."""
        already = await store.reminded_on(self.db, self.summary.day)
        direct: list[tuple[str, Reviewer]] = []
        unnamed: list[Reviewer] = []
        for reviewer in reviewers:
            if opted_out(reviewer.metadata):
                self.summary.skip(reviewer, "reminders are off in their metadata")
                continue
            if reviewer.user_id in already:
                self.summary.skip(reviewer, f"already reminded on {self.summary.day}")
                continue
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
        """The reviewers this run may remind today; a concurrent run may have taken some."""
        if self.dry_run:
            return reviewers
        day = self.summary.day
        claimed = []
        for reviewer in reviewers:
            if await store.claim(self.db, reviewer.user_id, day, target, self.now):
                claimed.append(reviewer)
            else:
                self.summary.skip(reviewer, f"already reminded on {day}")
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
            ids = [r.user_id for r in outgoing.reviewers]
            await store.release(self.db, ids, self.summary.day)
            log.warning("reminder not sent", extra={**extra, "error": outgoing.error})
