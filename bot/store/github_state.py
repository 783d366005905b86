"""Storing what GitHub tells us (webhooks and the poller): users, projects, pull requests,
reviews and review requests.

Every function works inside the caller's transaction and runs one or two statements.
Upserts are single `INSERT ... ON CONFLICT` statements whose `WHERE` keeps newer stored
state: GitHub does not order its deliveries, and the poller may race a webhook.
The rows come from `bot.github.mapping`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from bot.github import mapping
from bot.store.database import Database
from bot.store.tables import projects, pull_requests, review_requests, reviews, users
from bot.store.upsert import insert_for

# Users ---------------------------------------------------------------------------------


async def upsert_users(
    db: Database, rows: Iterable[Mapping[str, Any]], now: datetime
) -> dict[int, int]:
    """Insert or rename users by GitHub id, in one statement; returns github_id -> users.id."""
    by_github_id = {row["github_id"]: row["username"] for row in rows}
    if not by_github_id:
        return {}
    stmt = insert_for(db, users).values(
        [
            {"github_id": gid, "username": login, "metadata": {}, "created_at": now}
            for gid, login in sorted(by_github_id.items())
        ]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[users.c.github_id], set_={"username": stmt.excluded.username}
    ).returning(users.c.github_id, users.c.id)
    return {r["github_id"]: r["id"] for r in await db.fetch_all(stmt)}


# Projects ------------------------------------------------------------------------------


async def upsert_project(
    db: Database,
    fields: Mapping[str, Any],
    now: datetime,
    *,
    installation_id: int | None = None,
    active: bool | None = None,
) -> dict[str, Any]:
    """The project of a repository (`mapping.project_row`), created or brought up to date.

    An existing project is matched by GitHub id, else by owner/name ignoring case (one
    added through the API has no GitHub id yet), so a repository is never a project twice.
    A given `installation_id` is recorded and marks the project installed; `active` None
    leaves the project's flag as it is (new projects start active). A project's `name`,
    chosen by whoever created it, is kept.
    """
    same_repository = projects.select().where(
        sa.or_(
            projects.c.github_id == fields["github_id"],
            sa.and_(
                sa.func.lower(projects.c.repo_owner) == fields["repo_owner"].lower(),
                sa.func.lower(projects.c.repo_name) == fields["repo_name"].lower(),
            ),
        )
    )
    matches = await db.fetch_all(same_repository)
    values: dict[str, Any] = {
        "repo_owner": fields["repo_owner"],
        "repo_name": fields["repo_name"],
        "github_id": fields["github_id"],
    }
    if installation_id is not None:
        values.update(installation_id=installation_id, installed=True)
    if active is not None:
        values["active"] = active
    if not matches:
        created = await db.fetch_one(
            insert_for(db, projects)
            .values(**{"active": True, **values}, name=fields["name"], created_at=now)
            .on_conflict_do_nothing()
            .returning(*projects.c)
        )
        if created is not None:
            return created
        # A concurrent delivery created it first (and has committed): use theirs.
        matches = await db.fetch_all(same_repository)
    project = next((p for p in matches if p["github_id"] == fields["github_id"]), matches[0])
    changed = {k: v for k, v in values.items() if project[k] != v}
    if changed:
        await db.execute(projects.update().where(projects.c.id == project["id"]).values(**changed))
    return {**project, **changed}


async def deactivate_projects(
    db: Database, *, installation_id: int | None = None, github_ids: Iterable[int] = ()
) -> None:
    """Stop syncing the projects of an installation and/or of repositories (by GitHub id).

    They keep their pull requests and reviews; `installed` becomes False.
    """
    conditions = []
    if installation_id is not None:
        conditions.append(projects.c.installation_id == installation_id)
    ids = list(github_ids)
    if ids:
        conditions.append(projects.c.github_id.in_(ids))
    if conditions:
        await db.execute(
            projects.update().where(sa.or_(*conditions)).values(active=False, installed=False)
        )


async def set_installation_active(db: Database, installation_id: int, active: bool) -> None:
    """Suspend or unsuspend the projects of an installation (those still installed)."""
    await db.execute(
        projects.update()
        .where(projects.c.installation_id == installation_id, projects.c.installed.is_(True))
        .values(active=active)
    )


# Pull requests and reviews -------------------------------------------------------------


async def _upsert_by_github_id(
    db: Database, stmt: Any, table: sa.Table, github_id: int
) -> tuple[int, bool]:
    """Run a conditional upsert; (id, True) when it wrote, else (the stored id, False)."""
    written = await db.fetch_val(stmt.returning(table.c.id))
    if written is not None:
        return written, True
    stored = await db.fetch_val(sa.select(table.c.id).where(table.c.github_id == github_id))
    return stored, False


async def upsert_pull_request(
    db: Database, project_id: int, author_id: int | None, row: Mapping[str, Any]
) -> tuple[int, bool]:
    """Insert or update a pull request (`mapping.pull_request_row`) unless ours is newer.

    Returns (pull_requests.id, applied); applied is False when the stored `updated_at`
    is later than the row's, and then nothing was written. Equal times apply.
    """
    stmt = insert_for(db, pull_requests).values(project_id=project_id, user_id=author_id, **row)
    updated = {name: stmt.excluded[name] for name in row if name != "github_id"}
    updated["project_id"] = stmt.excluded.project_id
    # A payload without an author keeps the one we know.
    updated["user_id"] = sa.func.coalesce(stmt.excluded.user_id, pull_requests.c.user_id)
    stmt = stmt.on_conflict_do_update(
        index_elements=[pull_requests.c.github_id],
        set_=updated,
        where=pull_requests.c.updated_at <= stmt.excluded.updated_at,
    )
    return await _upsert_by_github_id(db, stmt, pull_requests, row["github_id"])


def _newer_review(stored: Any, incoming: Any) -> sa.ColumnElement[bool]:
    """Whether an incoming review state may replace the stored one.

    A later `submitted_at` wins. A dismissal keeps the submission time, so at equal
    times DISMISSED wins and is never undone. A pending review (no time) never
    replaces a submitted one.
    """
    return sa.or_(
        stored.submitted_at.is_(None),
        sa.and_(
            incoming.submitted_at.is_not(None),
            sa.or_(
                incoming.submitted_at > stored.submitted_at,
                sa.and_(
                    incoming.submitted_at == stored.submitted_at,
                    sa.or_(incoming.state == "DISMISSED", stored.state != "DISMISSED"),
                ),
            ),
        ),
    )


async def upsert_reviews(
    db: Database, pr_id: int, rows: Iterable[tuple[int, Mapping[str, Any]]]
) -> set[int]:
    """Insert or update a pull request's reviews, `(users.id, mapping.review_row)` each, in
    one statement, each unless its stored state is newer.

    Returns the GitHub ids of the reviews written.
    """
    by_github_id = {row["github_id"]: (user_id, row) for user_id, row in rows}
    if not by_github_id:
        return set()
    stmt = insert_for(db, reviews).values(
        [
            {"pull_request_id": pr_id, "user_id": user_id, **row}
            for _, (user_id, row) in sorted(by_github_id.items())
        ]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[reviews.c.github_id],
        set_={"state": stmt.excluded.state, "submitted_at": stmt.excluded.submitted_at},
        where=_newer_review(reviews.c, stmt.excluded),
    ).returning(reviews.c.github_id)
    return {r["github_id"] for r in await db.fetch_all(stmt)}


# Review requests -----------------------------------------------------------------------

# A review request of a user just made (or made again): (users.id, requested_at).
MadeRequest = tuple[int, datetime]


def _made(rows: Iterable[Mapping[str, Any]]) -> list[MadeRequest]:
    return [(r["user_id"], r["requested_at"]) for r in rows if r["user_id"] is not None]


def _request_target(user_id: int | None, team_slug: str | None) -> tuple[str, Any]:
    if (user_id is None) == (team_slug is None):
        raise ValueError("a review request names a user or a team, not both")
    return ("user_id", user_id) if user_id is not None else ("team_slug", team_slug)


async def _update_open_request(
    db: Database,
    pr_id: int,
    user_id: int | None,
    team_slug: str | None,
    condition: sa.ColumnElement[bool],
    **values: Any,
) -> list[MadeRequest]:
    """Set `values` on the open request of that user or team, if `condition` holds.

    Returns the user requests changed, as (users.id, requested_at).
    """
    column, value = _request_target(user_id, team_slug)
    rows = await db.fetch_all(
        review_requests.update()
        .where(
            review_requests.c.pull_request_id == pr_id,
            review_requests.c[column] == value,
            review_requests.c.removed_at.is_(None),
            condition,
        )
        .values(**values)
        .returning(review_requests.c.user_id, review_requests.c.requested_at)
    )
    return _made(rows)


async def add_review_request(
    db: Database,
    pr_id: int,
    now: datetime,
    *,
    user_id: int | None = None,
    team_slug: str | None = None,
) -> None:
    """Record that a review was requested at `now` from a user or a team.

    A request already open moves to `now` (a re-request); a removed one is revived
    unless its removal is later than `now`.
    """
    column, value = _request_target(user_id, team_slug)
    stmt = insert_for(db, review_requests).values(
        pull_request_id=pr_id, requested_at=now, removed_at=None, **{column: value}
    )
    stored = review_requests.c
    stmt = stmt.on_conflict_do_update(
        index_elements=[stored.pull_request_id, stored[column]],
        set_={"requested_at": stmt.excluded.requested_at, "removed_at": None},
        where=sa.or_(
            sa.and_(stored.removed_at.is_(None), stored.requested_at < stmt.excluded.requested_at),
            sa.and_(
                stored.removed_at.is_not(None), stored.removed_at <= stmt.excluded.requested_at
            ),
        ),
    )
    await db.execute(stmt)


async def remove_review_request(
    db: Database,
    pr_id: int,
    now: datetime,
    *,
    user_id: int | None = None,
    team_slug: str | None = None,
) -> None:
    """Withdraw an open review request at `now`, unless it was made later than `now`."""
    await _update_open_request(
        db, pr_id, user_id, team_slug, review_requests.c.requested_at <= now, removed_at=now
    )


async def bump_review_request(
    db: Database,
    pr_id: int,
    at: datetime,
    *,
    user_id: int | None = None,
    team_slug: str | None = None,
) -> list[MadeRequest]:
    """Move an open request's time forward to `at`; nothing else. Returns it if moved.

    For a request event older than the stored pull request: its snapshot is stale,
    but the request at `at` happened, and a still-open request has waited since then
    at the latest (a review between an earlier request and `at` does not end it).
    """
    return await _update_open_request(
        db, pr_id, user_id, team_slug, review_requests.c.requested_at < at, requested_at=at
    )


async def replace_review_requests(
    db: Database, pr_id: int, user_ids: Iterable[int], team_slugs: Iterable[str], now: datetime
) -> list[MadeRequest]:
    """Make the open review requests of a pull request exactly these users and teams.

    Requests still wanted keep their time; new or revived ones get `now`; the others are
    withdrawn at `now`. A request withdrawn earlier has its `removed_at` moved up to `now`
    too: it is the latest time it is known not to be wanted, so an older request event
    arriving late cannot revive it. At most three statements. Returns the user requests
    made or revived.
    """
    wanted_users = sorted(set(user_ids))
    wanted_teams = sorted(set(team_slugs))
    stored = review_requests.c
    await db.execute(
        review_requests.update()
        .where(
            stored.pull_request_id == pr_id,
            sa.or_(stored.removed_at.is_(None), stored.removed_at < now),
            sa.or_(
                sa.and_(stored.user_id.is_not(None), stored.user_id.not_in(wanted_users)),
                sa.and_(stored.team_slug.is_not(None), stored.team_slug.not_in(wanted_teams)),
            ),
        )
        .values(removed_at=now)
    )
    made: list[MadeRequest] = []
    for column, wanted in (("user_id", wanted_users), ("team_slug", wanted_teams)):
        if not wanted:
            continue
        stmt = insert_for(db, review_requests).values(
            [
                {"pull_request_id": pr_id, column: value, "requested_at": now, "removed_at": None}
                for value in wanted
            ]
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[stored.pull_request_id, stored[column]],
            set_={"requested_at": stmt.excluded.requested_at, "removed_at": None},
            where=stored.removed_at.is_not(None),
        ).returning(stored.user_id, stored.requested_at)
        made += _made(await db.fetch_all(stmt))
    return made


# A pull request as GitHub shows it ------------------------------------------------------


class StoredPullRequest(NamedTuple):
    id: int
    # False when the stored pull request is newer: then it was left as it was.
    applied: bool
    # github_id -> users.id of everyone the pull request and `people` name.
    user_ids: dict[int, int]
    # The user review requests this call made or made again, for real-time DMs.
    made_requests: tuple[MadeRequest, ...] = ()


async def store_pull_request(
    db: Database,
    project_id: int,
    pr: Mapping[str, Any],
    now: datetime,
    *,
    requested: Mapping[str, Any] | None = None,
    withdrawn: Mapping[str, Any] | None = None,
    people: Iterable[Mapping[str, Any]] = (),
) -> StoredPullRequest:
    """Store a `pull_request` object: its author, itself and its open review requests.

    The requests follow the object's `requested_reviewers`/`requested_teams`, as of its
    `updated_at`, and only when the object is not older than what is stored. `requested`
    and `withdrawn` are a `review_requested`/`review_request_removed` event's user or
    team, applied on top (GitHub's snapshot may lag the event). A request event older
    than the stored pull request still moves that request's time forward (see
    `bump_review_request`); an older removal is dropped. `people` are other user rows of
    the delivery (a review's author): all users are upserted in one statement, in one
    order, so concurrent deliveries cannot deadlock on them: a caller takes their ids
    from the result and never upserts users again in the transaction.
    """
    row = mapping.pull_request_row(pr)
    author = mapping.pull_request_author(pr)
    reviewers = mapping.requested_reviewers(pr)
    teams = set(mapping.requested_teams(pr))
    extra = [
        mapping.user_row(obj)
        for obj in (requested, withdrawn)
        if obj is not None and "slug" not in obj
    ]
    everyone = [*([author] if author else []), *reviewers, *extra, *people]
    ids = await upsert_users(db, everyone, now)
    pr_id, applied = await upsert_pull_request(
        db, project_id, ids[author["github_id"]] if author else None, row
    )
    if not applied:
        made: list[MadeRequest] = []
        if requested is not None:
            made = await bump_review_request(
                db, pr_id, row["updated_at"], **_target(requested, ids)
            )
        return StoredPullRequest(pr_id, False, ids, tuple(made))
    wanted = {ids[r["github_id"]] for r in reviewers}
    for obj, add in ((requested, True), (withdrawn, False)):
        if obj is None:
            continue
        target = _target(obj, ids)
        group: set[Any] = teams if "team_slug" in target else wanted
        value = target.get("team_slug", target.get("user_id"))
        (group.add if add else group.discard)(value)
    at = row["updated_at"]
    made = await replace_review_requests(db, pr_id, wanted, teams, at)
    if requested is not None:
        # A re-request while the old request is still open starts the wait anew.
        made += await bump_review_request(db, pr_id, at, **_target(requested, ids))
    return StoredPullRequest(pr_id, True, ids, tuple(made))


def _target(obj: Mapping[str, Any], user_ids: Mapping[int, int]) -> dict[str, Any]:
    """A requested user or team object as `user_id=` or `team_slug=` of a request."""
    if "slug" in obj:
        return {"team_slug": mapping.team_slug(obj)}
    return {"user_id": user_ids[mapping.user_row(obj)["github_id"]]}
