"""Queries on projects."""

from __future__ import annotations

import sqlalchemy as sa

from bot.store.clock import utcnow
from bot.store.database import Database
from bot.store.tables import (
    escalations,
    projects,
    pull_requests,
    realtime_notices,
    review_requests,
    reviews,
)
from bot.store.upsert import insert_for


async def list_projects(db: Database, offset: int, limit: int) -> tuple[int, list[dict]]:
    total = await db.fetch_val(sa.select(sa.func.count()).select_from(projects))
    rows = await db.fetch_all(projects.select().order_by(projects.c.id).offset(offset).limit(limit))
    return total, rows


async def get_project(db: Database, project_id: int) -> dict | None:
    return await db.fetch_one(projects.select().where(projects.c.id == project_id))


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
