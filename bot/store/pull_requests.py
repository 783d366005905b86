"""Queries on pull requests and who approved, commented on or idles on them."""

from __future__ import annotations

import sqlalchemy as sa

from bot.store.database import Database, built_once
from bot.store.paging import Window, paged
from bot.store.tables import pull_requests, review_requests, reviews, users
from bot.store.users import idle_requests, latest_decisive_review
from bot.store.visibility import EVERYTHING, Visible, pull_request_condition, where

STATES = ("open", "closed", "all")


async def list_pull_requests(
    db: Database,
    window: Window,
    state: str = "open",
    project_id: int | None = None,
    user_id: int | None = None,
    visible: Visible = EVERYTHING,
) -> tuple[int | None, list[dict]]:
    """A page of pull requests by id, with their total if the window asks for it."""
    conditions = where(pull_request_condition(visible))
    if state != "all":
        conditions.append(pull_requests.c.state == state)
    if project_id is not None:
        conditions.append(pull_requests.c.project_id == project_id)
    if user_id is not None:
        conditions.append(pull_requests.c.user_id == user_id)
    key = ("pull_requests", state, project_id, user_id, visible.key)
    return await paged(db, pull_requests, conditions, window, key)


# Built once for readers who see everything: building it cost as much as running it.
_PULL_REQUEST = built_once(
    pull_requests.select().where(pull_requests.c.id == sa.bindparam("pr_id", type_=sa.Integer))
)


async def get_pull_request(db: Database, pr_id: int, visible: Visible = EVERYTHING) -> dict | None:
    if visible.everything:
        return await db.fetch_one(_PULL_REQUEST, {"pr_id": pr_id})
    return await db.fetch_one(
        pull_requests.select().where(
            pull_requests.c.id == pr_id, *where(pull_request_condition(visible))
        )
    )


def _people_statement() -> sa.Select:
    """Author, approvers, commenters and idlers of the pull request `:pr_id`, by role."""
    pr_id = sa.bindparam("pr_id", type_=sa.Integer)
    latest = latest_decisive_review(reviews.c.pull_request_id == pr_id)
    idle = idle_requests(review_requests.c.pull_request_id == pr_id)
    approver = sa.select(sa.literal_column("'approvers'").label("role"), latest.c.user_id).where(
        latest.c.pull_request_id == pr_id, latest.c.state == "APPROVED"
    )
    commenter = (
        sa.select(sa.literal_column("'commenters'").label("role"), reviews.c.user_id)
        .where(reviews.c.pull_request_id == pr_id, reviews.c.state == "COMMENTED")
        .distinct()
    )
    idler = sa.select(sa.literal_column("'idlers'").label("role"), idle.c.user_id).where(
        idle.c.pull_request_id == pr_id
    )
    author = sa.select(sa.literal_column("'author'").label("role"), pull_requests.c.user_id).where(
        pull_requests.c.id == pr_id
    )
    roles = sa.union_all(author, approver, commenter, idler).subquery("roles")
    return (
        sa.select(roles.c.role, users.c.username)
        .join(users, users.c.id == roles.c.user_id)
        .order_by(roles.c.role, users.c.username)
    )


# Built once: building it took a quarter of the details route's time (profile_routes).
PEOPLE = built_once(_people_statement())


async def pull_request_people(db: Database, pr_id: int) -> dict[str, list[str] | str | None]:
    """The author, approvers, commenters and idlers of a pull request, as logins, in one query."""
    rows = await db.fetch_all(PEOPLE, {"pr_id": pr_id})
    people: dict[str, list[str] | str | None] = {
        "author": None,
        "approvers": [],
        "commenters": [],
        "idlers": [],
    }
    for row in rows:
        if row["role"] == "author":
            people["author"] = row["username"]
        else:
            people[row["role"]].append(row["username"])  # type: ignore[union-attr]
    return people
