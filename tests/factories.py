"""Rows for tests, written through the schema the service uses."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store.database import Database
from bot.store.tables import projects, pull_requests, review_requests, reviews, users

_ids = itertools.count(1000)
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    """A fixed instant `minutes` after T0."""
    return T0 + timedelta(minutes=minutes)


async def add_project(db: Database, owner: str = "docker", name: str = "cli", **kw: Any) -> int:
    values = {
        "name": f"{owner}/{name}",
        "repo_owner": owner,
        "repo_name": name,
        "active": True,
        "created_at": T0,
        **kw,
    }
    return await db.execute(projects.insert().values(**values))


async def add_user(db: Database, login: str, **kw: Any) -> int:
    values = {"github_id": next(_ids), "username": login, "metadata": {}, "created_at": T0, **kw}
    return await db.execute(users.insert().values(**values))


async def add_pull_request(
    db: Database, project_id: int, user_id: int | None, number: int, **kw: Any
) -> int:
    values = {
        "github_id": next(_ids),
        "project_id": project_id,
        "user_id": user_id,
        "number": number,
        "title": f"PR {number}",
        "url": f"https://github.com/o/r/pull/{number}",
        "state": "open",
        "draft": False,
        "merged": False,
        "created_at": T0,
        "updated_at": T0,
        **kw,
    }
    return await db.execute(pull_requests.insert().values(**values))


async def add_review(
    db: Database, pr_id: int, user_id: int, state: str, submitted_at: datetime
) -> int:
    return await db.execute(
        reviews.insert().values(
            github_id=next(_ids),
            pull_request_id=pr_id,
            user_id=user_id,
            state=state,
            submitted_at=submitted_at,
        )
    )


async def add_request(
    db: Database,
    pr_id: int,
    user_id: int,
    requested_at: datetime,
    removed_at: datetime | None = None,
) -> int:
    return await db.execute(
        review_requests.insert().values(
            pull_request_id=pr_id,
            user_id=user_id,
            requested_at=requested_at,
            removed_at=removed_at,
        )
    )


async def seed_reviewed_pull_requests(db: Database, count: int) -> dict[str, int]:
    """`count` open PRs in one project, each approved, commented on and idled on."""
    async with db.transaction():  # one commit, not one per row
        return await _seed_reviewed(db, count)


async def _seed_reviewed(db: Database, count: int) -> dict[str, int]:
    project = await add_project(db)
    author = await add_user(db, "author")
    approver = await add_user(db, "approver")
    commenter = await add_user(db, "commenter")
    idler = await add_user(db, "idler")
    await db.execute_many(
        pull_requests.insert(),
        [
            {
                "github_id": next(_ids),
                "project_id": project,
                "user_id": author,
                "number": n,
                "title": f"PR {n}",
                "url": f"https://github.com/o/r/pull/{n}",
                "state": "open",
                "draft": False,
                "merged": False,
                "created_at": T0,
                "updated_at": T0,
            }
            for n in range(1, count + 1)
        ],
    )
    pr_ids = [row["id"] for row in await db.fetch_all(pull_requests.select())]
    await db.execute_many(
        reviews.insert(),
        [
            {
                "github_id": next(_ids),
                "pull_request_id": pr,
                "user_id": user,
                "state": state,
                "submitted_at": at(10),
            }
            for pr in pr_ids
            for user, state in ((approver, "APPROVED"), (commenter, "COMMENTED"))
        ],
    )
    await db.execute_many(
        review_requests.insert(),
        [{"pull_request_id": pr, "user_id": idler, "requested_at": at(20)} for pr in pr_ids],
    )
    return {"approver": approver, "idler": idler, "pr": pr_ids[-1]}


async def add_release(
    db: Database,
    team_project: str = "Team",
    release_id: str = "1",
    approvers: int = 2,
    now: datetime = T0,
    ttl: timedelta = timedelta(hours=72),
) -> int:
    """A pending release with `approvers` undecided approvers, through the store's own calls.

    Approver n's approval token is `token-{team_project}-{release_id}-{n}`.
    """
    from bot.releases.tokens import token_hash
    from bot.store import releases as store

    release, _ = await store.create_release(db, team_project, release_id, f"R {release_id}", now)
    rows = [
        {
            "name": f"approver {n}",
            "token_hash": token_hash(f"token-{team_project}-{release_id}-{n}"),
            "expires_at": now + ttl,
        }
        for n in range(approvers)
    ]
    await store.store_approvers(db, release["id"], rows, approvers, now)
    return release["id"]
