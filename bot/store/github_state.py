"""Storing what GitHub tells us (webhooks and the poller): users, projects, pull requests,
reviews and review requests.

Every function works inside the caller's transaction and runs one or two statements.
Upserts are single `INSERT ... ON CONFLICT` statements whose `WHERE` keeps newer stored
state: GitHub does not order its deliveries, and the poller may race a webhook.
They take our shapes (`bot.github.shapes`), read from GitHub's JSON before they come here.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa

from bot.github.shapes import GitHubUser, PullRequest, Repository, Review, Team
from bot.store.database import Database, built_once
from bot.store.tables import projects, pull_requests, review_requests, reviews, users
from bot.store.upsert import insert_for, insert_on

# The statements of a delivery are built once per shape (backend, number of rows) and
# compiled once (`built_once`); only their values change. Building and compiling them at
# each call was most of a delivery's own time (tests/bench/profile_routes.py webhook).


def _bind(column: sa.Column, name: str | None = None) -> sa.BindParameter:
    return sa.bindparam(name or column.name, type_=column.type)


def _numbered(prefix: str, values: Iterable[Any]) -> dict[str, Any]:
    return {f"{prefix}_n{i}": value for i, value in enumerate(values)}


# Users ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _users_named(count: int) -> sa.Select:
    wanted = [_bind(users.c.github_id, f"github_id_n{i}") for i in range(count)]
    return built_once(
        sa.select(users.c.github_id, users.c.id, users.c.username).where(
            users.c.github_id.in_(wanted)
        )
    )


@functools.lru_cache(maxsize=64)
def _users_upsert(postgres: bool, count: int) -> Any:
    metadata, now = _bind(users.c.metadata), _bind(users.c.created_at, "now")
    stmt = insert_on(postgres, users).values(
        [
            {
                "github_id": _bind(users.c.github_id, f"github_id_n{i}"),
                "username": _bind(users.c.username, f"username_n{i}"),
                "metadata": metadata,
                "created_at": now,
            }
            for i in range(count)
        ]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[users.c.github_id], set_={"username": stmt.excluded.username}
    ).returning(users.c.github_id, users.c.id)
    return built_once(stmt)


async def upsert_users(db: Database, people: Iterable[GitHubUser], now: datetime) -> dict[int, int]:
    """Insert or rename users by GitHub id; returns github_id -> users.id.

    Those already stored under the same login are only read: an upsert would lock their
    rows until the transaction ends, and every delivery of a busy repository names the
    same few people, so concurrent deliveries would queue on them (and a webhook could
    wait on a long poll). The others are upserted in one statement, in GitHub id order.
    """
    by_github_id = {person.github_id: person.login for person in people}
    if not by_github_id:
        return {}
    wanted = sorted(by_github_id)
    stored = await db.fetch_all(_users_named(len(wanted)), _numbered("github_id", wanted))
    ids = {r["github_id"]: r["id"] for r in stored if r["username"] == by_github_id[r["github_id"]]}
    missing = [gid for gid in wanted if gid not in ids]
    if missing:
        values = {
            **_numbered("github_id", missing),
            **_numbered("username", (by_github_id[gid] for gid in missing)),
            "metadata": {},
            "now": now,
        }
        written = await db.fetch_all(_users_upsert(db.is_postgres, len(missing)), values)
        ids.update((r["github_id"], r["id"]) for r in written)
    return ids


# Projects ------------------------------------------------------------------------------


# The projects of a repository: by GitHub id, or by owner/name ignoring case.
_SAME_REPOSITORY = built_once(
    projects.select().where(
        sa.or_(
            projects.c.github_id == _bind(projects.c.github_id),
            sa.and_(
                sa.func.lower(projects.c.repo_owner) == _bind(projects.c.repo_owner, "owner"),
                sa.func.lower(projects.c.repo_name) == _bind(projects.c.repo_name, "name"),
            ),
        )
    )
)


async def upsert_project(
    db: Database,
    repository: Repository,
    now: datetime,
    *,
    installation_id: int | None = None,
    active: bool | None = None,
) -> dict[str, Any]:
    """The project of a repository, created or brought up to date.

    An existing project is matched by GitHub id, else by owner/name ignoring case (one
    added through the API has no GitHub id yet), so a repository is never a project twice.
    A given `installation_id` is recorded and marks the project installed; `active` None
    leaves the project's flag as it is (new projects start active). A new project is
    named `owner/name`; a project's `name`, chosen by whoever created it, is kept.
    The repository's owner/name change only with a picture of it not older than the
    one they came from (`repo_seen_at`): a delivery from before a rename, arriving late
    or redelivered, does not move the project back.
    """
    same_repository = {
        "github_id": repository.github_id,
        "owner": repository.owner.lower(),
        "name": repository.name.lower(),
    }
    matches = await db.fetch_all(_SAME_REPOSITORY, same_repository)
    values: dict[str, Any] = {"github_id": repository.github_id}
    named = {
        "repo_owner": repository.owner,
        "repo_name": repository.name,
        "repo_seen_at": repository.updated_at,
    }
    if installation_id is not None:
        values.update(installation_id=installation_id, installed=True)
    if active is not None:
        values["active"] = active
    if not matches:
        created = await db.fetch_one(
            insert_for(db, projects)
            .values(
                **{"active": True, **values, **named}, name=repository.full_name, created_at=now
            )
            .on_conflict_do_nothing()
            .returning(*projects.c)
        )
        if created is not None:
            return created
        # A concurrent delivery created it first (and has committed): use theirs.
        matches = await db.fetch_all(_SAME_REPOSITORY, same_repository)
    project = next((p for p in matches if p["github_id"] == repository.github_id), matches[0])
    seen_at = project["repo_seen_at"]
    renamed = (project["repo_owner"], project["repo_name"]) != (repository.owner, repository.name)
    stale = seen_at is not None and (
        repository.updated_at is None or repository.updated_at < seen_at
    )
    if renamed and not stale:  # the time is kept with the name only: no write otherwise
        values.update(named)
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


_PR_COLUMNS = (
    "github_id", "project_id", "user_id", "number", "title", "url", "state", "draft", "merged",
    "labels", "created_at", "updated_at", "closed_at", "merged_at",
)  # fmt: skip


@functools.cache
def _pull_request_upsert(postgres: bool) -> Any:
    """Insert or update a pull request unless the stored one is newer; returns its id when
    it wrote."""
    stmt = insert_on(postgres, pull_requests).values(
        {name: _bind(pull_requests.c[name]) for name in _PR_COLUMNS}
    )
    updated: dict[str, Any] = {name: stmt.excluded[name] for name in _PR_COLUMNS[1:]}
    # A payload without an author keeps the one we know.
    updated["user_id"] = sa.func.coalesce(stmt.excluded.user_id, pull_requests.c.user_id)
    stmt = stmt.on_conflict_do_update(
        index_elements=[pull_requests.c.github_id],
        set_=updated,
        where=pull_requests.c.updated_at <= stmt.excluded.updated_at,
    )
    return built_once(stmt.returning(pull_requests.c.id))


_PULL_REQUEST_ID = built_once(
    sa.select(pull_requests.c.id).where(
        pull_requests.c.github_id == _bind(pull_requests.c.github_id)
    )
)


def _pull_request_columns(pr: PullRequest) -> dict[str, Any]:
    """The columns of `pull_requests` a pull request sets (no project or author ids)."""
    return {
        "github_id": pr.github_id,
        "number": pr.number,
        "title": pr.title,
        "url": pr.url,
        "state": pr.state,
        "draft": pr.draft,
        "merged": pr.merged,
        "labels": list(pr.labels),
        "created_at": pr.created_at,
        "updated_at": pr.updated_at,
        "closed_at": pr.closed_at,
        "merged_at": pr.merged_at,
    }


async def upsert_pull_request(
    db: Database, project_id: int, author_id: int | None, pr: PullRequest
) -> tuple[int, bool]:
    """Insert or update a pull request (not its review requests) unless ours is newer.

    Returns (pull_requests.id, applied); applied is False when the stored `updated_at`
    is later than `pr`'s, and then nothing was written. Equal times apply.
    """
    values = {**_pull_request_columns(pr), "project_id": project_id, "user_id": author_id}
    written = await db.fetch_val(_pull_request_upsert(db.is_postgres), values)
    if written is not None:
        return written, True
    return await db.fetch_val(_PULL_REQUEST_ID, {"github_id": pr.github_id}), False


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


@functools.lru_cache(maxsize=64)
def _reviews_upsert(postgres: bool, count: int) -> Any:
    pr_id = _bind(reviews.c.pull_request_id)
    stmt = insert_on(postgres, reviews).values(
        [
            {
                "github_id": _bind(reviews.c.github_id, f"github_id_n{i}"),
                "pull_request_id": pr_id,
                "user_id": _bind(reviews.c.user_id, f"user_id_n{i}"),
                "state": _bind(reviews.c.state, f"state_n{i}"),
                "submitted_at": _bind(reviews.c.submitted_at, f"submitted_at_n{i}"),
            }
            for i in range(count)
        ]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[reviews.c.github_id],
        set_={"state": stmt.excluded.state, "submitted_at": stmt.excluded.submitted_at},
        where=_newer_review(reviews.c, stmt.excluded),
    ).returning(reviews.c.github_id)
    return built_once(stmt)


async def upsert_reviews(
    db: Database, pr_id: int, submitted: Iterable[Review], user_ids: Mapping[int, int]
) -> set[int]:
    """Insert or update a pull request's reviews in one statement, each unless its stored
    state is newer; `user_ids` maps their authors' GitHub ids to users.id (a review
    without an author is left out).

    Returns the GitHub ids of the reviews written.
    """
    by_github_id = {
        r.github_id: (user_ids[r.author.github_id], r) for r in submitted if r.author is not None
    }
    if not by_github_id:
        return set()
    rows = sorted(by_github_id.items())
    values = {
        "pull_request_id": pr_id,
        **_numbered("github_id", (github_id for github_id, _ in rows)),
        **_numbered("user_id", (user_id for _, (user_id, _) in rows)),
        **_numbered("state", (r.state for _, (_, r) in rows)),
        **_numbered("submitted_at", (r.submitted_at for _, (_, r) in rows)),
    }
    written = await db.fetch_all(_reviews_upsert(db.is_postgres, len(rows)), values)
    return {r["github_id"] for r in written}


# Review requests -----------------------------------------------------------------------


def _request_target(user_id: int | None, team_slug: str | None) -> tuple[str, Any]:
    if (user_id is None) == (team_slug is None):
        raise ValueError("a review request names a user or a team, not both")
    return ("user_id", user_id) if user_id is not None else ("team_slug", team_slug)


@functools.cache
def _request_bump(column: str) -> Any:
    stored = review_requests.c
    at = _bind(stored.requested_at, "at")
    return built_once(
        review_requests.update()
        .where(
            stored.pull_request_id == _bind(stored.pull_request_id),
            stored[column] == _bind(stored[column]),
            stored.removed_at.is_(None),
            stored.requested_at < at,
        )
        .values(requested_at=at)
        .returning(stored.id)
    )


async def bump_review_request(
    db: Database,
    pr_id: int,
    at: datetime,
    *,
    user_id: int | None = None,
    team_slug: str | None = None,
) -> bool:
    """Move an open request's time forward to `at`; nothing else. True when it moved.

    For a request event older than the stored pull request: its snapshot is stale,
    but the request at `at` happened, and a still-open request has waited since then
    at the latest (a review between an earlier request and `at` does not end it).
    """
    column, value = _request_target(user_id, team_slug)
    moved = await db.fetch_all(
        _request_bump(column), {"pull_request_id": pr_id, column: value, "at": at}
    )
    return bool(moved)


@functools.lru_cache(maxsize=64)
def _requests_withdrawal(users_kept: int, teams_kept: int) -> Any:
    """Withdraw, at `now`, the open requests of a pull request but those kept."""
    stored = review_requests.c
    now = _bind(stored.removed_at, "now")
    others = []
    for column, kept in (("user_id", users_kept), ("team_slug", teams_kept)):
        condition = stored[column].is_not(None)
        if kept:
            names = [_bind(stored[column], f"{column}_n{i}") for i in range(kept)]
            condition = sa.and_(condition, stored[column].not_in(names))
        others.append(condition)
    return built_once(
        review_requests.update()
        .where(
            stored.pull_request_id == _bind(stored.pull_request_id),
            sa.or_(stored.removed_at.is_(None), stored.removed_at < now),
            sa.or_(*others),
        )
        .values(removed_at=now)
    )


@functools.lru_cache(maxsize=64)
def _requests_upsert(postgres: bool, column: str, count: int) -> Any:
    """Open (or revive) requests of a pull request to these users or teams at `now`;
    only the rows inserted or revived come back."""
    stored = review_requests.c
    pr_id, now = _bind(stored.pull_request_id), _bind(stored.requested_at, "now")
    stmt = insert_on(postgres, review_requests).values(
        [
            {
                "pull_request_id": pr_id,
                column: _bind(stored[column], f"{column}_n{i}"),
                "requested_at": now,
                "removed_at": sa.null(),
            }
            for i in range(count)
        ]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[stored.pull_request_id, stored[column]],
        set_={"requested_at": stmt.excluded.requested_at, "removed_at": None},
        where=stored.removed_at.is_not(None),
    )
    return built_once(stmt.returning(stored.user_id))


async def replace_review_requests(
    db: Database, pr_id: int, user_ids: Iterable[int], team_slugs: Iterable[str], now: datetime
) -> set[int]:
    """Make the open review requests of a pull request exactly these users and teams.

    Requests still wanted keep their time; new or revived ones get `now`; the others are
    withdrawn at `now`. A request withdrawn earlier has its `removed_at` moved up to `now`
    too: it is the latest time it is known not to be wanted, so an older request event
    arriving late cannot revive it. At most three statements. Returns the users whose
    request is new or revived.
    """
    wanted = {"user_id": sorted(set(user_ids)), "team_slug": sorted(set(team_slugs))}
    await db.execute(
        _requests_withdrawal(len(wanted["user_id"]), len(wanted["team_slug"])),
        {
            "pull_request_id": pr_id,
            "now": now,
            **_numbered("user_id", wanted["user_id"]),
            **_numbered("team_slug", wanted["team_slug"]),
        },
    )
    opened: set[int] = set()
    for column, values in wanted.items():
        if not values:
            continue
        rows = await db.fetch_all(
            _requests_upsert(db.is_postgres, column, len(values)),
            {"pull_request_id": pr_id, "now": now, **_numbered(column, values)},
        )
        opened.update(r["user_id"] for r in rows if r["user_id"] is not None)
    return opened


# A pull request as GitHub shows it ------------------------------------------------------


class StoredPullRequest(NamedTuple):
    id: int
    # False when the stored pull request is newer: then it was left as it was.
    applied: bool
    # github_id -> users.id of everyone the pull request and its `reviews` name.
    user_ids: dict[int, int]
    # users.id of those whose review this call requested: a request new, revived, or
    # made again while open (its time moved). What a real-time notification follows.
    new_requests: frozenset[int] = frozenset()


async def store_pull_request(
    db: Database,
    project_id: int,
    pr: PullRequest,
    now: datetime,
    *,
    requested: GitHubUser | Team | None = None,
    withdrawn: GitHubUser | Team | None = None,
    reviews: Iterable[Review] = (),
) -> StoredPullRequest:
    """Store a pull request: its author, itself and its open review requests.

    The requests follow its `requested_reviewers`/`requested_teams`, as of its
    `updated_at`, and only when it is not older than what is stored. `requested` and
    `withdrawn` are a `review_requested`/`review_request_removed` event's user or team,
    applied on top (GitHub's snapshot may lag the event). A request event older than
    the stored pull request still moves that request's time forward (see
    `bump_review_request`); an older removal is dropped.

    `reviews` are those the caller stores next (`upsert_reviews`): their authors are
    upserted here with everyone else, in one statement and one order, so concurrent
    deliveries cannot deadlock on users; a caller takes their ids from the result and
    never upserts users again in the transaction.
    """
    named = [r for r in (requested, withdrawn) if isinstance(r, GitHubUser)]
    reviewers = [r.author for r in reviews if r.author is not None]
    everyone = [*([pr.author] if pr.author else []), *pr.requested_reviewers, *named, *reviewers]
    ids = await upsert_users(db, everyone, now)
    author_id = ids[pr.author.github_id] if pr.author else None
    pr_id, applied = await upsert_pull_request(db, project_id, author_id, pr)
    at = pr.updated_at
    if not applied:
        if requested is None:
            return StoredPullRequest(pr_id, False, ids)
        moved = await bump_review_request(db, pr_id, at, **_target(requested, ids))
        return StoredPullRequest(pr_id, False, ids, _requested_user(requested, ids, moved))
    wanted = {ids[r.github_id] for r in pr.requested_reviewers}
    teams = set(pr.requested_teams)
    for reviewer, add in ((requested, True), (withdrawn, False)):
        if reviewer is None:
            continue
        group: set[Any] = teams if isinstance(reviewer, Team) else wanted
        value = reviewer.slug if isinstance(reviewer, Team) else ids[reviewer.github_id]
        (group.add if add else group.discard)(value)
    opened = await replace_review_requests(db, pr_id, wanted, teams, at)
    if requested is not None:
        # A re-request while the old request is still open starts the wait anew.
        moved = await bump_review_request(db, pr_id, at, **_target(requested, ids))
        opened |= _requested_user(requested, ids, moved)
    return StoredPullRequest(pr_id, True, ids, frozenset(opened))


def _requested_user(
    reviewer: GitHubUser | Team, user_ids: Mapping[int, int], moved: bool
) -> frozenset[int]:
    if not moved or isinstance(reviewer, Team):
        return frozenset()
    return frozenset({user_ids[reviewer.github_id]})


def _target(reviewer: GitHubUser | Team, user_ids: Mapping[int, int]) -> dict[str, Any]:
    """A requested user or team as `user_id=` or `team_slug=` of a request."""
    if isinstance(reviewer, Team):
        return {"team_slug": reviewer.slug}
    return {"user_id": user_ids[reviewer.github_id]}
