"""Queries on users and what they did on pull requests."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.store.database import Database, built_once
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


# Built once for readers who see everything: building it cost as much as running it.
_USER = built_once(users.select().where(users.c.id == sa.bindparam("user_id", type_=sa.Integer)))


async def get_user(db: Database, user_id: int, visible: Visible = EVERYTHING) -> dict | None:
    if visible.everything:
        return await db.fetch_one(_USER, {"user_id": user_id})
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
    """Per (pull request, reviewer): the state of their newest decisive review, by
    `submitted_at` then GitHub id; one without a time is the oldest (NULLS LAST, said
    outright: PostgreSQL alone would sort it first, SQLite last).

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
                order_by=(reviews.c.submitted_at.desc().nulls_last(), reviews.c.github_id.desc()),
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


def later_decisive_review(review: sa.FromClause) -> sa.Exists:
    """Whether the same user has a decisive review of the same pull request that comes
    after `review` in latest_decisive_review's order: a later `submitted_at`, or the same
    one and a larger GitHub id; a review without a time comes before any with one."""
    later = reviews.alias("later")
    after = sa.or_(
        later.c.submitted_at > review.c.submitted_at,
        sa.and_(
            later.c.submitted_at == review.c.submitted_at,
            later.c.github_id > review.c.github_id,
        ),
        sa.and_(
            review.c.submitted_at.is_(None),
            sa.or_(later.c.submitted_at.is_not(None), later.c.github_id > review.c.github_id),
        ),
    )
    return (
        sa.select(later.c.id)
        .where(
            later.c.user_id == review.c.user_id,
            later.c.pull_request_id == review.c.pull_request_id,
            later.c.state.in_([sa.literal(state) for state in DECISIVE_STATES]),
            after,
        )
        .exists()
    )


def idle_conditions() -> list[sa.ColumnElement[bool]]:
    """What makes a review request idle: not withdrawn, on an open pull request
    (`pull_requests`, joined by the caller), and no review by that user since."""
    later_review = (
        sa.select(reviews.c.id)
        .where(
            reviews.c.pull_request_id == review_requests.c.pull_request_id,
            reviews.c.user_id == review_requests.c.user_id,
            reviews.c.submitted_at >= review_requests.c.requested_at,
        )
        .exists()
    )
    return [
        review_requests.c.user_id.is_not(None),
        review_requests.c.removed_at.is_(None),
        pull_requests.c.state == "open",
        ~later_review,
    ]


def idle_requests(*where: sa.ColumnElement[bool]) -> sa.Subquery:
    """Open review requests of open pull requests with no review by that user since.

    `where` narrows the requests considered (to one PR or one user).
    """
    return (
        sa.select(
            review_requests.c.pull_request_id,
            review_requests.c.user_id,
            review_requests.c.requested_at,
        )
        .join(pull_requests, pull_requests.c.id == review_requests.c.pull_request_id)
        .where(*idle_conditions(), *where)
        .subquery("idle")
    )


# A user's details hold at most this many pull requests of each kind, the most recent
# (highest id) ones below a cursor, so that a long-time reviewer's answer does not grow
# for ever and costs the same whatever their history (read at call time).
DETAILS_LIMIT = 100
MAX_PULL_REQUEST_ID = 2**31 - 1  # ids are 32-bit integers
DETAILS_KINDS = ("approved", "commented", "idled")


def _details_statement(
    kind: str, visible: sa.ColumnElement[bool] | None, values: dict[str, int] | None = None
) -> sa.Select:
    """The pull requests of one kind of `:user_id` with id <= `:last`, newest first,
    `:limit` of them (the parameters' `values` inside it, or given at each call).

    Each walks an index of the user's rows (reviews by user, state and pull request;
    review requests by user and pull request, migration 0008) from `:last` downwards,
    joins each row to its pull request and stops after `:limit` rows: no sort, no
    ranking of the whole history. Each pull request comes from one row of the driving
    table, so none is listed twice and the LIMIT counts pull requests.
    """
    user_id, last, limit = (
        sa.bindparam(name, values[name] if values else None, type_=sa.Integer)
        for name in ("user_id", "last", "limit")
    )
    if kind == "idled":
        # One request per (pull request, user): the unique constraint.
        driver: sa.FromClause = review_requests
        conditions = [review_requests.c.user_id == user_id, *idle_conditions()]
    elif kind == "approved":
        # An APPROVED review with no later decisive one by them on that pull request.
        driver = reviews
        conditions = [
            reviews.c.user_id == user_id,
            reviews.c.state == "APPROVED",
            ~later_decisive_review(reviews),
        ]
    elif kind == "commented":
        # Their first COMMENTED review on that pull request stands for all of them.
        earlier = reviews.alias("earlier")
        earlier_comment = (
            sa.select(earlier.c.id)
            .where(
                earlier.c.user_id == reviews.c.user_id,
                earlier.c.pull_request_id == reviews.c.pull_request_id,
                earlier.c.state == "COMMENTED",
                earlier.c.id < reviews.c.id,
            )
            .exists()
        )
        driver = reviews
        conditions = [
            reviews.c.user_id == user_id,
            reviews.c.state == "COMMENTED",
            ~earlier_comment,
        ]
    else:
        raise ValueError(f"no such details list: {kind}")
    # `+ 0`: each row finds its pull request by primary key (a nested loop). Joined on the
    # bare column, PostgreSQL may merge-join with a backward scan of every pull request
    # from the newest down to the user's 100th, which grows with the table, not the page.
    pull_request_of_row = pull_requests.c.id == driver.c.pull_request_id + sa.literal_column("0")
    return (
        sa.select(*pull_requests.c)
        .select_from(driver.join(pull_requests, pull_request_of_row))
        .where(*conditions, driver.c.pull_request_id <= last, *where(visible))
        # By the driving table's column, so that its index gives the order.
        .order_by(driver.c.pull_request_id.desc())
        .limit(limit)
    )


# Built once for readers who see everything (building one costs as much as running it);
# a reader's own visibility condition is built at each call.
_EVERYTHING_STATEMENTS = {
    kind: built_once(_details_statement(kind, None)) for kind in DETAILS_KINDS
}


async def details_pull_requests(
    db: Database,
    kind: str,
    user_id: int,
    visible: Visible = EVERYTHING,
    before: int | None = None,
) -> list[dict]:
    """The user's DETAILS_LIMIT highest-id pull requests of `kind` with id < `before`
    (any id when None), in id order; README "Who counts as what":

    - approved: their latest decisive review on it (latest_decisive_review's order)
      is an approval;
    - commented: they left a COMMENTED review on it;
    - idled: it is open and their review request on it is idle (idle_conditions).
    """
    values = {
        "user_id": user_id,
        "last": MAX_PULL_REQUEST_ID if before is None else before - 1,
        "limit": DETAILS_LIMIT,
    }
    if visible.everything:
        rows = await db.fetch_all(_EVERYTHING_STATEMENTS[kind], values)
    else:
        # The visible repositories are an IN list, rendered at each call (bot.store.database)
        # with the values the statement holds.
        statement = _details_statement(kind, pull_request_condition(visible), values)
        rows = await db.fetch_all(statement)
    return rows[::-1]  # newest first from the index; the details were always in id order
