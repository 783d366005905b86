"""Queries for the review queue and its statistics: who each open pull request waits on,
how soon pull requests got their first review, and how many requests each reviewer holds.

Each function runs one statement, whatever the number of rows.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.store.database import Database
from bot.store.paging import total
from bot.store.tables import projects, pull_requests, review_requests, reviews, users
from bot.store.users import idle_requests
from bot.store.visibility import EVERYTHING, Visible, project_condition, where


def active_project_ids(visible: Visible = EVERYTHING) -> sa.Select:
    """Active projects the reader may see."""
    return sa.select(projects.c.id).where(
        projects.c.active == sa.true(), *where(project_condition(visible))
    )


def _queue_conditions(
    project_id: int | None,
    reviewer_id: int | None,
    author_id: int | None,
    visible: Visible = EVERYTHING,
) -> list[sa.ColumnElement[bool]]:
    """Open pull requests of active projects, narrowed by project, reviewer or author."""
    conditions = [
        pull_requests.c.state == "open",
        pull_requests.c.project_id.in_(active_project_ids(visible)),
    ]
    if project_id is not None:
        conditions.append(pull_requests.c.project_id == project_id)
    if author_id is not None:
        conditions.append(pull_requests.c.user_id == author_id)
    if reviewer_id is not None:
        idle = idle_requests(review_requests.c.user_id == reviewer_id)
        conditions.append(pull_requests.c.id.in_(sa.select(idle.c.pull_request_id)))
    return conditions


async def queue_page(
    db: Database,
    offset: int,
    limit: int,
    *,
    project_id: int | None = None,
    reviewer_id: int | None = None,
    author_id: int | None = None,
    visible: Visible = EVERYTHING,
    total_at: int | None = None,
) -> tuple[int, list[dict]]:
    """The total (kept per data version `total_at`, bot/store/paging.py) and one page (by
    id) of open pull requests, with project and author names."""
    conditions = _queue_conditions(project_id, reviewer_id, author_id, visible)
    counted = await total(
        db,
        sa.select(sa.func.count()).select_from(pull_requests).where(*conditions),
        total_at,
        ("queue", project_id, reviewer_id, author_id, visible.key),
    )
    author = users.alias("author")
    rows = await db.fetch_all(
        sa.select(
            *pull_requests.c,
            projects.c.name.label("project_name"),
            projects.c.repo_owner,
            projects.c.repo_name,
            author.c.username.label("author"),
        )
        .join(projects, projects.c.id == pull_requests.c.project_id)
        .outerjoin(author, author.c.id == pull_requests.c.user_id)
        .where(*conditions)
        .order_by(pull_requests.c.id)
        .offset(offset)
        .limit(limit)
    )
    return counted, rows


async def pending_requests(db: Database, pr_ids: list[int]) -> list[dict]:
    """The review requests still waiting on someone, of these pull requests.

    A person's request waits until they review (after it was made) or it is withdrawn;
    a team's until it is withdrawn (GitHub withdraws it when a member reviews).
    Oldest first, with the person's login and metadata (their time zone).
    """
    if not pr_ids:
        return []
    later_review = (
        sa.select(reviews.c.id)
        .where(
            reviews.c.pull_request_id == review_requests.c.pull_request_id,
            reviews.c.user_id == review_requests.c.user_id,
            reviews.c.submitted_at >= review_requests.c.requested_at,
        )
        .exists()
    )
    return await db.fetch_all(
        sa.select(
            review_requests.c.pull_request_id,
            review_requests.c.user_id,
            review_requests.c.team_slug,
            review_requests.c.requested_at,
            users.c.username,
            users.c.metadata,
        )
        .outerjoin(users, users.c.id == review_requests.c.user_id)
        .where(
            review_requests.c.pull_request_id.in_(pr_ids),
            review_requests.c.removed_at.is_(None),
            ~later_review,
        )
        .order_by(review_requests.c.requested_at, review_requests.c.id)
    )


async def active_projects(db: Database, visible: Visible = EVERYTHING) -> list[dict]:
    return await db.fetch_all(
        sa.select(projects.c.id, projects.c.name, projects.c.repo_owner, projects.c.repo_name)
        .where(projects.c.active == sa.true(), *where(project_condition(visible)))
        .order_by(projects.c.name, projects.c.id)
    )


async def first_reviews(db: Database, since: datetime, visible: Visible = EVERYTHING) -> list[dict]:
    """Pull requests of active projects first reviewed at or after `since`.

    A row each: the project, when the pull request was opened and when someone other
    than its author first reviewed it (any review state counts).
    """
    reviewed_lately = sa.select(reviews.c.pull_request_id).where(reviews.c.submitted_at >= since)
    first_review_at = sa.func.min(reviews.c.submitted_at)
    return await db.fetch_all(
        sa.select(
            pull_requests.c.id,
            pull_requests.c.project_id,
            pull_requests.c.created_at,
            first_review_at.label("first_review_at"),
        )
        .join(reviews, reviews.c.pull_request_id == pull_requests.c.id)
        .where(
            pull_requests.c.id.in_(reviewed_lately),
            pull_requests.c.project_id.in_(active_project_ids(visible)),
            reviews.c.submitted_at.is_not(None),
            sa.or_(pull_requests.c.user_id.is_(None), reviews.c.user_id != pull_requests.c.user_id),
        )
        .group_by(pull_requests.c.id, pull_requests.c.project_id, pull_requests.c.created_at)
        .having(first_review_at >= since)
    )


async def open_requests_per_reviewer(db: Database, visible: Visible = EVERYTHING) -> list[dict]:
    """Per person: how many open pull requests of active projects wait on them, and since
    when the oldest does; with their login."""
    idle = idle_requests(pull_requests.c.project_id.in_(active_project_ids(visible)))
    per_user = (
        sa.select(
            idle.c.user_id,
            sa.func.count().label("open_requests"),
            sa.func.min(idle.c.requested_at).label("oldest_requested_at"),
        )
        .group_by(idle.c.user_id)
        .subquery("per_user")
    )
    return await db.fetch_all(
        sa.select(
            users.c.id.label("user_id"),
            users.c.username,
            per_user.c.open_requests,
            per_user.c.oldest_requested_at,
        )
        .join(per_user, per_user.c.user_id == users.c.id)
        .order_by(per_user.c.open_requests.desc(), users.c.username)
    )
