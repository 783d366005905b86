"""Reminder messages as Slack shows them: Block Kit blocks plus a plain-text fallback.

Pure: rows in, messages out; nothing here talks to Slack or the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

# Slack allows 50 blocks a message and 3000 characters a section; stay well inside.
MAX_PULL_REQUESTS_PER_DM = 40
MAX_USERS_PER_CHANNEL_MESSAGE = 40
MAX_PULL_REQUESTS_PER_USER_IN_CHANNEL = 10
MAX_ESCALATIONS_PER_MESSAGE = 40

# The DM's button; its value is the reminded user's id (ours, not Slack's).
SNOOZE_ACTION = "reminder_snooze"
SNOOZE_BLOCK = "reminder_snooze"


@dataclass(frozen=True)
class IdlePullRequest:
    """One pull request waiting for one reviewer."""

    title: str
    url: str
    number: int
    repository: str  # owner/name
    author: str | None  # GitHub login; None once the author left
    waiting: timedelta  # since the review was requested


@dataclass(frozen=True)
class Message:
    text: str  # the fallback: notifications, screen readers, old clients
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """Slack's three control characters, escaped as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def waited(delta: timedelta) -> str:
    """How long, in the largest whole unit: "3 days", "1 hour", "12 minutes"."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return _plural(seconds // size, unit)
    return "less than a minute"


def _details(pr: IdlePullRequest) -> str:
    by = f" by {pr.author}" if pr.author else ""
    return f"{pr.repository} #{pr.number}{by}, waiting {waited(pr.waiting)}"


def _link(pr: IdlePullRequest) -> str:
    return f"<{pr.url}|{escape(pr.title)}>"


def _plain_line(pr: IdlePullRequest) -> str:
    return f"• {escape(pr.title)} ({escape(_details(pr))}) {pr.url}"


def _mrkdwn_line(pr: IdlePullRequest) -> str:
    return f"{_link(pr)} ({escape(_details(pr))})"


def _byline(pr: IdlePullRequest) -> str:
    by = f" by {escape(pr.author)}" if pr.author else ""
    return f"{by} · waiting {waited(pr.waiting)}"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _longest_waiting_first(prs: Sequence[IdlePullRequest]) -> list[IdlePullRequest]:
    return sorted(prs, key=lambda pr: (-pr.waiting, pr.repository, pr.number))


def snooze_actions(user_id: int) -> dict[str, Any]:
    """The "Snooze until tomorrow" button of a reminder or a real-time DM."""
    return {
        "type": "actions",
        "block_id": SNOOZE_BLOCK,
        "elements": [
            {
                "type": "button",
                "action_id": SNOOZE_ACTION,
                "text": {"type": "plain_text", "text": "Snooze until tomorrow"},
                "value": str(user_id),
            }
        ],
    }


def idle_dm(prs: Sequence[IdlePullRequest], snooze_for: int | None = None) -> Message:
    """The direct message to one reviewer listing every pull request waiting for them.

    With `snooze_for` (the reviewer's user id) it carries the snooze button.
    """
    ordered = _longest_waiting_first(prs)
    shown, hidden = ordered[:MAX_PULL_REQUESTS_PER_DM], ordered[MAX_PULL_REQUESTS_PER_DM:]
    heading = f"{_plural(len(ordered), 'pull request')} waiting for your review"
    blocks: list[dict[str, Any]] = [_section(f"*{heading}*")]
    for pr in shown:
        blocks.append(
            _section(f"*{_link(pr)}*\n`{escape(pr.repository)}` #{pr.number}" + _byline(pr))
        )
    lines = [f"{heading}:", *(_plain_line(pr) for pr in shown)]
    if hidden:
        more = f"…and {len(hidden)} more"
        blocks.append(_context(more))
        lines.append(more)
    if snooze_for is not None:
        blocks.append(snooze_actions(snooze_for))
    return Message(text="\n".join(lines), blocks=blocks)


def review_requested_dm(pr: IdlePullRequest, snooze_for: int) -> Message:
    """The real-time DM: a review was just requested of this person."""
    by = f" by {pr.author}" if pr.author else ""
    where = escape(f"{pr.repository} #{pr.number}{by}")
    text = f"Your review was requested: {escape(pr.title)} ({where}) {pr.url}"
    blocks = [
        _section(
            f"*Your review was requested*\n*{_link(pr)}*\n`{escape(pr.repository)}` #{pr.number}"
            + (f" by {escape(pr.author)}" if pr.author else "")
        ),
        snooze_actions(snooze_for),
    ]
    return Message(text=text, blocks=blocks)


def snoozed_message(blocks: Sequence[Mapping[str, Any]], until_text: str) -> Message:
    """A reminder's blocks once snoozed: the button gives way to when it ends."""
    note = f"Snoozed until {until_text}."
    kept = [dict(b) for b in blocks if b.get("block_id") != SNOOZE_BLOCK]
    return Message(text=note, blocks=[*kept, _context(escape(note))])


@dataclass(frozen=True)
class Escalated:
    """A request idle long enough to be named in the team channel."""

    pr: IdlePullRequest
    reviewer: str  # a Slack mention (<@U…>) or @login
    working_days: int


def escalation_message(items: Sequence[Escalated], days: int) -> Message:
    """The channel message naming requests idle `days` working days or more."""
    ordered = sorted(items, key=lambda e: (-e.working_days, e.pr.repository, e.pr.number))
    shown = ordered[:MAX_ESCALATIONS_PER_MESSAGE]
    heading = f"Waiting {_plural(days, 'working day')} or more for review"
    blocks: list[dict[str, Any]] = [_section(f"*{heading}*")]
    lines = [f"{heading}:"]
    for item in shown:
        waited_days = _plural(item.working_days, "working day")
        blocks.append(_section(f"• {_mrkdwn_line(item.pr)}\n    {item.reviewer}, {waited_days}"))
        lines.append(f"{_plain_line(item.pr)} — {item.reviewer}, {waited_days}")
    if len(ordered) > len(shown):
        more = f"…and {len(ordered) - len(shown)} more"
        blocks.append(_context(more))
        lines.append(more)
    return Message(text="\n".join(lines), blocks=blocks)


def channel_message(by_login: Mapping[str, Sequence[IdlePullRequest]]) -> Message:
    """The team-channel message naming reviewers Slack does not know, by GitHub login.

    Name at most MAX_USERS_PER_CHANNEL_MESSAGE reviewers in one message.
    """
    heading = "Pull requests waiting for review"
    blocks: list[dict[str, Any]] = [_section(f"*{heading}*")]
    lines = [f"{heading}:"]
    for login, prs in sorted(by_login.items(), key=lambda item: item[0].lower()):
        ordered = _longest_waiting_first(prs)
        shown = ordered[:MAX_PULL_REQUESTS_PER_USER_IN_CHANNEL]
        hidden = len(ordered) - len(shown)
        who = f"@{escape(login)} ({_plural(len(ordered), 'pull request')})"
        items = [f"• {_mrkdwn_line(pr)}" for pr in shown]
        plain = [f"  {_plain_line(pr)}" for pr in shown]
        if hidden:
            items.append(f"…and {hidden} more")
            plain.append(f"  …and {hidden} more")
        blocks.append(_section("\n".join([f"*{who}*", *items])))
        lines.extend([f"{who}:", *plain])
    hint = (
        "Add your Slack member ID to your Reviewer user "
        '(`PATCH /v1/users/{id}` with `{"metadata": {"slack_id": "U…"}}`) '
        "to get these as a direct message."
    )
    blocks.append(_context(escape(hint)))
    return Message(text="\n".join(lines), blocks=blocks)
