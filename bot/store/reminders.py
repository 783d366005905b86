"""Queries for the IdlersReminder: who waits on what, and who was reminded on which day."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.slack.identity import metadata_slack_id
from bot.store.database import Database
from bot.store.tables import (
    escalations,
    projects,
    pull_requests,
    realtime_notices,
    reminders,
    users,
)
from bot.store.upsert import insert_for
from bot.store.users import idle_requests


def idle_reviews_query(*where: sa.ColumnElement[bool], author_id: int | None = None) -> sa.Select:
    """Every idler of an open, non-draft pull request of an active project, in one query.

    A row per (reviewer, pull request): the reviewer's id, login and metadata, the pull
    request with its labels, repository and author (id, login and metadata), and when
    the review was requested. `where` narrows the rows (to one reviewer, say), `author_id`
    to the pull requests of one author.
    """
    idle = idle_requests()
    author = users.alias("author")
    if author_id is not None:
        where = (*where, author.c.id == author_id)
    return (
        sa.select(
            users.c.id.label("user_id"),
            users.c.username,
            users.c.metadata,
            pull_requests.c.id.label("pull_request_id"),
            pull_requests.c.title,
            pull_requests.c.url,
            pull_requests.c.number,
            pull_requests.c.labels,
            projects.c.repo_owner,
            projects.c.repo_name,
            author.c.id.label("author_id"),
            author.c.username.label("author"),
            author.c.metadata.label("author_metadata"),
            idle.c.requested_at,
        )
        .select_from(idle)
        .join(users, users.c.id == idle.c.user_id)
        .join(pull_requests, pull_requests.c.id == idle.c.pull_request_id)
        .join(projects, projects.c.id == pull_requests.c.project_id)
        .outerjoin(author, author.c.id == pull_requests.c.user_id)
        .where(pull_requests.c.draft == sa.false(), projects.c.active == sa.true(), *where)
        .order_by(users.c.id, idle.c.requested_at, pull_requests.c.id)
    )


async def idle_reviews(db: Database) -> list[dict[str, Any]]:
    return await db.fetch_all(idle_reviews_query())


async def reminded_on(db: Database, days: Iterable[str]) -> set[tuple[int, str]]:
    """(user id, day) of the reminders already recorded on any of `days` (YYYY-MM-DD).

    Each person's day is their own local one, so one run asks about a few days at once.
    """
    rows = await db.fetch_all(
        sa.select(reminders.c.user_id, reminders.c.day).where(reminders.c.day.in_(sorted(days)))
    )
    return {(row["user_id"], row["day"]) for row in rows}


async def claim(db: Database, user_id: int, day: str, target: str, at: datetime) -> bool:
    """Record that `user_id` is reminded on `day`; False when a reminder is already there.

    Claimed before sending, so two runs at once (two replicas, a CLI run beside the
    scheduler) never both send; a failed send gives the claim back with `release`.
    """
    insert = insert_for(db, reminders)
    # A channel name may be longer than the column (Slack allows 80); the target is a note.
    target = target[: reminders.c.target.type.length]
    statement = (
        insert.values(user_id=user_id, day=day, target=target, sent_at=at)
        .on_conflict_do_nothing(index_elements=["user_id", "day"])
        .returning(reminders.c.id)
    )
    return await db.fetch_one(statement) is not None


async def release(db: Database, user_ids: list[int], day: str) -> None:
    """Forget the claims of `user_ids` on `day`, so a later run may try them again."""
    await db.execute(
        reminders.delete().where(reminders.c.user_id.in_(user_ids), reminders.c.day == day)
    )


# Escalations ---------------------------------------------------------------------------


async def escalated_on(db: Database, day: str) -> set[tuple[int, int]]:
    """(pull request id, user id) of the requests already named in the channel on `day`."""
    rows = await db.fetch_all(
        sa.select(escalations.c.pull_request_id, escalations.c.user_id).where(
            escalations.c.day == day
        )
    )
    return {(row["pull_request_id"], row["user_id"]) for row in rows}


async def claim_escalation(
    db: Database, pull_request_id: int, user_id: int, day: str, at: datetime
) -> bool:
    """Record that the request is named in the channel on `day`; False when it already was."""
    statement = (
        insert_for(db, escalations)
        .values(pull_request_id=pull_request_id, user_id=user_id, day=day, sent_at=at)
        .on_conflict_do_nothing(index_elements=["pull_request_id", "user_id", "day"])
        .returning(escalations.c.id)
    )
    return await db.fetch_one(statement) is not None


async def release_escalations(db: Database, pairs: Iterable[tuple[int, int]], day: str) -> None:
    """Forget escalations whose message did not go, so a later run may send them."""
    for pull_request_id, user_id in pairs:
        await db.execute(
            escalations.delete().where(
                escalations.c.pull_request_id == pull_request_id,
                escalations.c.user_id == user_id,
                escalations.c.day == day,
            )
        )


# Real-time notices ---------------------------------------------------------------------


async def requests_to_announce(
    db: Database, requests: Iterable[tuple[int, int]]
) -> list[dict[str, Any]]:
    """The idle rows (as `idle_reviews_query`) of these (pull request id, user id) pairs."""
    pairs = sorted(set(requests))
    if not pairs:
        return []
    match = sa.or_(*(sa.and_(pull_requests.c.id == pr, users.c.id == user) for pr, user in pairs))
    return await db.fetch_all(idle_reviews_query(match))


async def claim_notice(
    db: Database, pull_request_id: int, user_id: int, requested_at: datetime, at: datetime
) -> bool:
    """Record the real-time DM of one request; False when it was already sent."""
    statement = (
        insert_for(db, realtime_notices)
        .values(
            pull_request_id=pull_request_id, user_id=user_id, requested_at=requested_at, sent_at=at
        )
        .on_conflict_do_nothing(index_elements=["pull_request_id", "user_id", "requested_at"])
        .returning(realtime_notices.c.id)
    )
    return await db.fetch_one(statement) is not None


async def release_notice(
    db: Database, pull_request_id: int, user_id: int, requested_at: datetime
) -> None:
    await db.execute(
        realtime_notices.delete().where(
            realtime_notices.c.pull_request_id == pull_request_id,
            realtime_notices.c.user_id == user_id,
            realtime_notices.c.requested_at == requested_at,
        )
    )


# App Home ------------------------------------------------------------------------------


def _containing(text: str) -> str:
    """A LIKE pattern (escape character `\\`) matching values that contain `text`."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def _users_whose_metadata_holds(
    db: Database, value: str, *, ignoring_case: bool = False
) -> list[dict[str, Any]]:
    """Users whose metadata text holds the JSON string `value` (to be checked by the caller)."""
    # Metadata is JSON text (sorted keys, no spaces): a LIKE narrows, Python decides.
    # Text, not JSONObject: the pattern must not be JSON-encoded as a value would be.
    text: Any = sa.type_coerce(users.c.metadata, sa.Text)
    needle = json.dumps(value)
    if ignoring_case:
        text, needle = sa.func.lower(text), needle.lower()
    return await db.fetch_all(
        users.select()
        .where(text.like(_containing(needle), escape="\\"))
        .order_by(users.c.id)
        .limit(50)
    )


async def user_by_slack_id(db: Database, slack_id: str) -> dict[str, Any] | None:
    """The user whose `metadata.slack_id` is `slack_id` (the lowest id if several)."""
    for row in await _users_whose_metadata_holds(db, slack_id):
        if metadata_slack_id(row["metadata"]) == slack_id:
            return row
    return None


async def user_by_email(db: Database, email: str) -> dict[str, Any] | None:
    """The user whose `metadata.email` is `email`, ignoring case (the lowest id if several)."""
    wanted = email.strip().lower()
    for row in await _users_whose_metadata_holds(db, wanted, ignoring_case=True):
        found = (row["metadata"] or {}).get("email")
        if isinstance(found, str) and found.strip().lower() == wanted:
            return row
    return None
