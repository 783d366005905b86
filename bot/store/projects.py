"""Queries on projects."""

from __future__ import annotations

import sqlalchemy as sa

from bot.store.clock import utcnow
from bot.store.database import Database
from bot.store.paging import Window, paged
from bot.store.tables import (
    escalations,
    projects,
    pull_requests,
    realtime_notices,
    review_requests,
    reviews,
)
from bot.store.upsert import insert_for
from bot.store.visibility import EVERYTHING, Visible, project_condition, where


async def list_projects(
    db: Database, window: Window, visible: Visible = EVERYTHING
) -> tuple[int | None, list[dict]]:
    """A page of projects by id, with their total if the window asks for it."""
    seen = where(project_condition(visible))
    return await paged(db, projects, seen, window, ("projects", visible.key))


async def get_project(db: Database, project_id: int, visible: Visible = EVERYTHING) -> dict | None:
    return await db.fetch_one(
        projects.select().where(projects.c.id == project_id, *where(project_condition(visible)))
    )


async def find_project(db: Database, owner: str, name: str) -> dict | None:
    """By repository, ignoring case as GitHub does."""
    return await db.fetch_one(
        projects.select().where(
            sa.func.lower(projects.c.repo_owner) == owner.lower(),
            sa.func.lower(projects.c.repo_name) == name.lower(),
        )
    )


async def create_project(db: Database, name: str, owner: str, repo: str) -> dict | None:
    """Insert a project; None when the repository is already a project."""
    if await find_project(db, owner, repo) is not None:
        return None
    # A concurrent create of the same repository may insert first: then nothing is inserted.
    return await db.fetch_one(
        insert_for(db, projects)
        .values(name=name, repo_owner=owner, repo_name=repo, active=True, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(*projects.c)
    )


async def delete_project(db: Database, project_id: int) -> bool:
    """Remove a project with its pull requests, reviews and review requests, all or nothing."""
    # Children first, explicitly: SQLite enforces no cascades without a per-connection pragma.
    prs = sa.select(pull_requests.c.id).where(pull_requests.c.project_id == project_id)
    async with db.transaction():
        if await get_project(db, project_id) is None:
            return False
        await db.execute(reviews.delete().where(reviews.c.pull_request_id.in_(prs)))
        await db.execute(review_requests.delete().where(review_requests.c.pull_request_id.in_(prs)))
        for table in (realtime_notices, escalations):
            await db.execute(table.delete().where(table.c.pull_request_id.in_(prs)))
        await db.execute(pull_requests.delete().where(pull_requests.c.project_id == project_id))
        await db.execute(projects.delete().where(projects.c.id == project_id))
    return True
