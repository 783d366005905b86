"""Queries on users and what they did on pull requests."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.store.database import Database
from bot.store.paging import Window, paged
from bot.store.tables import (
    escalations,
    pull_requests,
    realtime_notices,
    reminders,
    review_requests,
    reviews,
    users,
)
from bot.store.visibility import (
    EVERYTHING,
    Visible,
    pull_request_condition,
    user_condition,
    where,
)

# Review states that decide where a reviewer stands; COMMENTED ones leave it as it was.
DECISIVE_STATES = ("APPROVED", "CHANGES_REQUESTED", "DISMISSED")


async def list_users(
    db: Database, window: Window, visible: Visible = EVERYTHING
) -> tuple[int | None, list[dict]]:
    """A page of users by id, with their total if the window asks for it."""
    return await paged(db, users, where(user_condition(visible)), window, ("users", visible.key))


async def get_user(db: Database, user_id: int, visible: Visible = EVERYTHING) -> dict | None:
    return await db.fetch_one(
        users.select().where(users.c.id == user_id, *where(user_condition(visible)))
    )


def merge_metadata(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The stored metadata with `patch` merged in; a key set to None is removed."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


async def update_metadata(db: Database, user_id: int, patch: dict[str, Any]) -> bool:
    """Merge `patch` into the user's metadata; False when there is no such user."""
    async with db.transaction():
        # Read and write in one transaction so two PATCHes never lose each other's keys
        # (FOR UPDATE on PostgreSQL; SQLite serialises writers already).
        query = users.select().where(users.c.id == user_id)
        if db.is_postgres:
            query = query.with_for_update()
        user = await db.fetch_one(query)
        if user is None:
            return False
        merged = merge_metadata(user["metadata"] or {}, patch)
        await db.execute(users.update().where(users.c.id == user_id).values(metadata=merged))
    return True


async def delete_user(db: Database, user_id: int) -> bool:
    """Remove a user and their reviews and requests; their pull requests stay, authorless."""
    async with db.transaction():
        if await get_user(db, user_id) is None:
            return False
        await db.execute(reviews.delete().where(reviews.c.user_id == user_id))
        await db.execute(review_requests.delete().where(review_requests.c.user_id == user_id))
        for table in (reminders, realtime_notices, escalations):
            await db.execute(table.delete().where(table.c.user_id == user_id))
        await db.execute(
            pull_requests.update().where(pull_requests.c.user_id == user_id).values(user_id=None)
        )
        await db.execute(users.delete().where(users.c.id == user_id))
    return True


def latest_decisive_review(*where: sa.ColumnElement[bool]) -> sa.Subquery:
    """Per (pull request, reviewer): the state of their newest decisive review.

    `where` narrows the reviews ranked (to one PR or one user) before the window runs.
    """
    ranked = (
        sa.select(
            reviews.c.pull_request_id,
            reviews.c.user_id,
            reviews.c.state,
            sa.func.row_number()
            .over(
                partition_by=(reviews.c.pull_request_id, reviews.c.user_id),
                order_by=(reviews.c.submitted_at.desc(), reviews.c.github_id.desc()),
            )
            .label("rank"),
        )
        # Literals, not an expanding list: the statement compiles once (bot.store.database).
        .where(reviews.c.state.in_([sa.literal(state) for state in DECISIVE_STATES]), *where)
        .subquery("ranked")
    )
    return (
        sa.select(ranked.c.pull_request_id, ranked.c.user_id, ranked.c.state)
        .where(ranked.c.rank == 1)
        .subquery("latest")
    )


def idle_requests(*where: sa.ColumnElement[bool]) -> sa.Subquery:
    """Open review requests of open pull requests with no review by that user since.

    `where` narrows the requests considered (to one PR or one user).
    """
    later_review = (
        sa.select(reviews.c.id)
        .where(
            reviews.c.pull_request_id == review_requests.c.pull_request_id,
            reviews.c.user_id == review_requests.c.user_id,
            reviews.c.submitted_at >= review_requests.c.requested_at,
        )
        .exists()
    )
    return (
        sa.select(
            review_requests.c.pull_request_id,
            review_requests.c.user_id,
            review_requests.c.requested_at,
        )
        .join(pull_requests, pull_requests.c.id == review_requests.c.pull_request_id)
        .where(
            review_requests.c.user_id.is_not(None),
            review_requests.c.removed_at.is_(None),
            pull_requests.c.state == "open",
            ~later_review,
            *where,
        )
        .subquery("idle")
    )


# A user's details hold at most this many pull requests of each kind, the most recent
# (highest id) ones, so that a long-time reviewer's answer does not grow for ever.
DETAILS_LIMIT = 100


def _most_recent(query: sa.Select) -> sa.Select:
    return query.order_by(pull_requests.c.id.desc()).limit(DETAILS_LIMIT)


async def _oldest_first(db: Database, query: sa.Select) -> list[dict]:
    """The rows of a most-recent-first query, in id order as the details always were."""
    return (await db.fetch_all(query))[::-1]


async def approved_pull_requests(
    db: Database, user_id: int, visible: Visible = EVERYTHING
) -> list[dict]:
    """The user's most recent DETAILS_LIMIT approved pull requests, by id."""
    latest = latest_decisive_review(reviews.c.user_id == user_id)
    return await _oldest_first(
        db,
        _most_recent(
            pull_requests.select()
            .join(latest, latest.c.pull_request_id == pull_requests.c.id)
            .where(latest.c.state == "APPROVED", *where(pull_request_condition(visible)))
        ),
    )


async def commented_pull_requests(
    db: Database, user_id: int, visible: Visible = EVERYTHING
) -> list[dict]:
    """The most recent DETAILS_LIMIT pull requests the user commented on, by id."""
    commented = (
        sa.select(reviews.c.pull_request_id)
        .where(reviews.c.user_id == user_id, reviews.c.state == "COMMENTED")
        .distinct()
    )
    return await _oldest_first(
        db,
        _most_recent(
            pull_requests.select().where(
                pull_requests.c.id.in_(commented), *where(pull_request_condition(visible))
            )
        ),
    )


async def idled_pull_requests(
    db: Database, user_id: int, visible: Visible = EVERYTHING
) -> list[dict]:
    """The most recent DETAILS_LIMIT open pull requests the user idles on, by id."""
    idle = idle_requests(review_requests.c.user_id == user_id)
    return await _oldest_first(
        db,
        _most_recent(
            pull_requests.select().where(
                pull_requests.c.id.in_(sa.select(idle.c.pull_request_id)),
                *where(pull_request_condition(visible)),
            )
        ),
    )
