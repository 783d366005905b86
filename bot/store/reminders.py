"""Queries for the IdlersReminder: who waits on what, and who was reminded on which day."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.database import Database
from bot.store.tables import projects, pull_requests, reminders, users
from bot.store.users import idle_requests


def idle_reviews_query() -> sa.Select:
    """Every idler of an open, non-draft pull request of an active project, in one query.

    A row per (reviewer, pull request): the reviewer's id, login and metadata, the pull
    request with its repository and author's login, and when the review was requested.
    """
    idle = idle_requests()
    author = users.alias("author")
    return (
        sa.select(
            users.c.id.label("user_id"),
            users.c.username,
            users.c.metadata,
            pull_requests.c.id.label("pull_request_id"),
            pull_requests.c.title,
            pull_requests.c.url,
            pull_requests.c.number,
            projects.c.repo_owner,
            projects.c.repo_name,
            author.c.username.label("author"),
            idle.c.requested_at,
        )
        .select_from(idle)
        .join(users, users.c.id == idle.c.user_id)
        .join(pull_requests, pull_requests.c.id == idle.c.pull_request_id)
        .join(projects, projects.c.id == pull_requests.c.project_id)
        .outerjoin(author, author.c.id == pull_requests.c.user_id)
        .where(pull_requests.c.draft == sa.false(), projects.c.active == sa.true())
        .order_by(users.c.id, idle.c.requested_at, pull_requests.c.id)
    )


async def idle_reviews(db: Database) -> list[dict[str, Any]]:
    return await db.fetch_all(idle_reviews_query())


async def reminded_on(db: Database, day: str) -> set[int]:
    """Ids of the users already reminded on `day` (YYYY-MM-DD, local)."""
    rows = await db.fetch_all(sa.select(reminders.c.user_id).where(reminders.c.day == day))
    return {row["user_id"] for row in rows}


async def claim(db: Database, user_id: int, day: str, target: str, at: datetime) -> bool:
    """Record that `user_id` is reminded on `day`; False when a reminder is already there.

    Claimed before sending, so two runs at once (two replicas, a CLI run beside the
    scheduler) never both send; a failed send gives the claim back with `release`.
    """
    insert = (postgresql.insert if db.is_postgres else sqlite.insert)(reminders)
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
