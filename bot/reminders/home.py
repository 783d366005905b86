"""The App Home: opening it shows the person's queue, published with `views.publish`.

Waiting on them (their idle review requests) and theirs waiting on others (their open
pull requests with reviewers who have not reviewed since asked), each with its wait.
Published afresh at every `app_home_opened`, so it is as current as the database.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.datastructures import State

from bot.reminders.people import PersonZone, opted_out, snoozed_until
from bot.reminders.zones import zone_of
from bot.slack.messages import escape, waited
from bot.store import reminders as store
from bot.store.tables import users
from bot.store.users import update_metadata

log = logging.getLogger(__name__)

# Slack allows 100 blocks in a Home tab; two lists and a few headings stay inside it.
MAX_ITEMS = 40


@dataclass(frozen=True)
class QueueItem:
    title: str
    url: str
    repository: str
    number: int
    who: str  # the author (waiting on you) or the reviewers with their waits (yours)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _item(item: QueueItem) -> dict[str, Any]:
    return _section(
        f"*<{item.url}|{escape(item.title)}>*\n`{escape(item.repository)}` "
        f"#{item.number} · {escape(item.who)}"
    )


def _list(heading: str, items: Sequence[QueueItem], empty: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{heading} ({len(items)})"}}
    ]
    if not items:
        return [*blocks, _context(empty)]
    blocks.extend(_item(item) for item in items[:MAX_ITEMS])
    if len(items) > MAX_ITEMS:
        blocks.append(_context(f"…and {len(items) - MAX_ITEMS} more"))
    return blocks


def home_view(
    waiting_on_you: Sequence[QueueItem], yours: Sequence[QueueItem], status: str
) -> dict[str, Any]:
    """The Home tab: the two lists and a line on the person's reminders."""
    return {
        "type": "home",
        "blocks": [
            *_list("Waiting on you", waiting_on_you, "Nothing waits for your review."),
            {"type": "divider"},
            *_list("Yours, waiting on others", yours, "None of your pull requests waits."),
            {"type": "divider"},
            _context(escape(status)),
        ],
    }


def unknown_view(slack_id: str) -> dict[str, Any]:
    hint = (
        "Reviewer does not know your GitHub account yet. Add your Slack member ID to your "
        f'Reviewer user: PATCH /v1/users/{{id}} with {{"metadata": {{"slack_id": "{slack_id}"}}}}.'
    )
    return {"type": "home", "blocks": [_section(escape(hint))]}


def _longest_first(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (r["requested_at"], r["pull_request_id"]))


def waiting_on_you(rows: Iterable[dict[str, Any]], now: datetime) -> list[QueueItem]:
    return [
        QueueItem(
            r["title"],
            r["url"],
            f"{r['repo_owner']}/{r['repo_name']}",
            r["number"],
            (f"by {r['author']}, " if r["author"] else "")
            + f"waiting {waited(now - r['requested_at'])}",
        )
        for r in _longest_first(rows)
    ]


def yours_waiting(rows: Iterable[dict[str, Any]], now: datetime) -> list[QueueItem]:
    """One item per pull request, naming each reviewer it waits on and for how long."""
    by_pr: dict[int, list[dict[str, Any]]] = {}
    for row in _longest_first(rows):
        by_pr.setdefault(row["pull_request_id"], []).append(row)
    return [
        QueueItem(
            group[0]["title"],
            group[0]["url"],
            f"{group[0]['repo_owner']}/{group[0]['repo_name']}",
            group[0]["number"],
            "waiting on "
            + ", ".join(f"@{r['username']} {waited(now - r['requested_at'])}" for r in group),
        )
        for group in by_pr.values()
    ]


def status_line(metadata: dict[str, Any], zone: PersonZone, now: datetime) -> str:
    if opted_out(metadata):
        return f"Your reminders are off. Time zone: {zone}."
    until = snoozed_until(metadata, zone.zone, now)
    if until is not None:
        until_text = until.astimezone(zone.zone).isoformat(timespec="minutes")
        return f"Your reminders are snoozed until {until_text}. Time zone: {zone}."
    return f"Your reminders come once a working day. Time zone: {zone}."


async def find_user(state: State, client: AsyncWebClient, slack_id: str) -> dict[str, Any] | None:
    """Our user for a Slack user: by `metadata.slack_id`, else by the email of their Slack
    profile matching `metadata.email` (then their `slack_id` is kept)."""
    user = await store.user_by_slack_id(state.db, slack_id)
    if user is not None:
        return user
    try:
        answer = await client.users_info(user=slack_id)
    except Exception as exc:  # SlackApiError or the network: they stay unknown this time
        log.info("no Slack profile for the App Home", extra={"error": repr(exc)})
        return None
    email = ((answer.get("user") or {}).get("profile") or {}).get("email")
    user = await store.user_by_email(state.db, email) if isinstance(email, str) else None
    if user is not None:
        await update_metadata(state.db, user["id"], {"slack_id": slack_id})
        log.info("stored the Slack id of the App Home's visitor", extra={"login": user["username"]})
    return user


async def publish_home(state: State, client: AsyncWebClient, slack_id: str) -> None:
    """Publish the Home tab of the Slack user `slack_id`."""
    user = await find_user(state, client, slack_id)
    if user is None:
        await client.views_publish(user_id=slack_id, view=unknown_view(slack_id))
        return
    now = state.clock()
    db = state.db
    mine = await db.fetch_all(store.idle_reviews_query(users.c.id == user["id"]))
    theirs = await db.fetch_all(store.idle_reviews_query(author_id=user["id"]))
    metadata = user["metadata"] or {}
    zone = await zone_of(metadata, state.settings.timezone, getattr(state, "slack_zones", None))
    view = home_view(
        waiting_on_you(mine, now), yours_waiting(theirs, now), status_line(metadata, zone, now)
    )
    await client.views_publish(user_id=slack_id, view=view)


def register_listeners(bolt: AsyncApp, state: State) -> None:
    async def on_home_opened(event: dict, client: AsyncWebClient) -> None:
        # The event fires for the Messages tab too; only Home has a view to publish.
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        await publish_home(state, client, event["user"])

    bolt.event("app_home_opened")(on_home_opened)
