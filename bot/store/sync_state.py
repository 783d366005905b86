"""Queries the pollers need: which projects to sync, what is stored open, the watermark."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.store.database import Database
from bot.store.tables import projects, pull_requests, reviews


async def active_projects(db: Database, full_name: str | None = None) -> list[dict]:
    """Projects to sync, oldest first; `full_name` ("owner/name", any case) picks one."""
    query = projects.select().where(projects.c.active.is_(True)).order_by(projects.c.id)
    if full_name is not None:
        owner, _, name = full_name.partition("/")
        query = query.where(
            sa.func.lower(projects.c.repo_owner) == owner.lower(),
            sa.func.lower(projects.c.repo_name) == name.lower(),
        )
    return await db.fetch_all(query)


async def set_installation(db: Database, project_id: int, installation_id: int | None) -> None:
    """Record where the App is installed on the project's repository, or that it is not."""
    await db.execute(
        projects.update()
        .where(projects.c.id == project_id)
        .values(installation_id=installation_id, installed=installation_id is not None)
    )


async def mark_synced(db: Database, project_id: int, started_at: datetime) -> None:
    """The project's reviews are reconciled with everything GitHub changed before `started_at`."""
    await db.execute(
        projects.update().where(projects.c.id == project_id).values(synced_at=started_at)
    )


async def open_pull_requests(db: Database, project_id: int) -> dict[int, dict]:
    """The project's pull requests stored as open, by GitHub id."""
    rows = await db.fetch_all(
        sa.select(
            pull_requests.c.id,
            pull_requests.c.github_id,
            pull_requests.c.number,
            pull_requests.c.updated_at,
        ).where(pull_requests.c.project_id == project_id, pull_requests.c.state == "open")
    )
    return {row["github_id"]: row for row in rows}


async def review_states(db: Database, pr_id: int) -> dict[int, tuple[str, datetime | None]]:
    """A pull request's stored reviews: GitHub id -> (state, submitted_at)."""
    rows = await db.fetch_all(
        sa.select(reviews.c.github_id, reviews.c.state, reviews.c.submitted_at).where(
            reviews.c.pull_request_id == pr_id
        )
    )
    return {r["github_id"]: (r["state"], r["submitted_at"]) for r in rows}
