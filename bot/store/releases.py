"""Queries on releases and their approvers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.database import Database
from bot.store.paging import total
from bot.store.tables import release_approvers, releases, users
from bot.store.visibility import EVERYTHING, Visible, release_condition, where

PENDING = "pending"

# `notify_error` while a notification is being sent: the approver is claimed. A claim
# older than NOTIFY_LEASE belongs to a process that died mid-send and may be taken over.
IN_FLIGHT = "sending"
NOTIFY_LEASE = timedelta(minutes=15)


async def create_release(
    db: Database,
    team_project: str,
    release_id: str,
    release_name: str,
    now: datetime,
    *,
    source: str = "api",
    details: dict[str, Any] | None = None,
    look_first: bool = True,
) -> tuple[dict, bool]:
    """The release, inserted unless already there; True when this call created it.

    Pipelines poll: a known release is one SELECT, no write (on PostgreSQL every
    INSERT tried, conflicting or not, also spends a value of the id sequence).
    ON CONFLICT DO NOTHING makes two pipelines posting a new release at once safe:
    one inserts, the other reads what it inserted. Inside a transaction that goes on
    to write, pass `look_first=False`: on SQLite a transaction that reads before it
    writes fails ("database is locked") when another connection wrote meanwhile.
    """
    existing = await find_release(db, team_project, release_id) if look_first else None
    if existing is not None:
        return existing, False
    insert = postgresql.insert if db.is_postgres else sqlite.insert
    statement = (
        insert(releases)
        .values(
            team_project=team_project,
            release_id=release_id,
            release_name=release_name,
            status=PENDING,
            attempts=0,
            created_at=now,
            source=source,
            details=details,
        )
        .on_conflict_do_nothing(index_elements=["team_project", "release_id"])
        .returning(*releases.c)
    )
    created = await db.fetch_one(statement)
    if created is not None:
        return created, True
    existing = await find_release(db, team_project, release_id)
    assert existing is not None
    return existing, False


async def find_release(db: Database, team_project: str, release_id: str) -> dict | None:
    return await db.fetch_one(
        releases.select().where(
            releases.c.team_project == team_project, releases.c.release_id == release_id
        )
    )


async def get_release(db: Database, pk: int, visible: Visible = EVERYTHING) -> dict | None:
    return await db.fetch_one(
        releases.select().where(releases.c.id == pk, *where(release_condition(visible)))
    )


async def list_releases(
    db: Database,
    offset: int,
    limit: int,
    visible: Visible = EVERYTHING,
    total_at: int | None = None,
) -> tuple[int, list[dict]]:
    """Newest first, with their total (kept per data version `total_at`)."""
    seen = where(release_condition(visible))
    counting = sa.select(sa.func.count()).select_from(releases).where(*seen)
    counted = await total(db, counting, total_at, ("releases", visible.key))
    rows = await db.fetch_all(
        releases.select().where(*seen).order_by(releases.c.id.desc()).offset(offset).limit(limit)
    )
    return counted, rows


async def pending_releases(db: Database) -> list[dict]:
    return await db.fetch_all(
        releases.select().where(releases.c.status == PENDING).order_by(releases.c.id)
    )


async def approvers_of(db: Database, pk: int) -> list[dict]:
    return await db.fetch_all(
        release_approvers.select()
        .where(release_approvers.c.release_id == pk)
        .order_by(release_approvers.c.id)
    )


async def approvers_by_release(db: Database, pks: Sequence[int]) -> dict[int, list[dict]]:
    """The approvers of many releases in one query."""
    grouped: dict[int, list[dict]] = {pk: [] for pk in pks}
    if not pks:
        return grouped
    rows = await db.fetch_all(
        release_approvers.select()
        .where(release_approvers.c.release_id.in_(list(pks)))
        .order_by(release_approvers.c.id)
    )
    for row in rows:
        grouped[row["release_id"]].append(row)
    return grouped


async def get_approver(db: Database, approver_id: int) -> dict | None:
    return await db.fetch_one(
        release_approvers.select().where(release_approvers.c.id == approver_id)
    )


async def approver_by_token_hash(db: Database, digest: str) -> dict | None:
    return await db.fetch_one(
        release_approvers.select().where(release_approvers.c.token_hash == digest)
    )


async def lock_release(db: Database, pk: int) -> None:
    """Inside a transaction: hold the release until commit, so decisions serialise.

    A no-op UPDATE locks the row on PostgreSQL and takes SQLite's write lock up front
    (a read first would deadlock two SQLite writers).
    """
    await db.execute(
        releases.update().where(releases.c.id == pk).values(attempts=releases.c.attempts)
    )


async def count_attempt(db: Database, pk: int) -> None:
    await db.execute(
        releases.update().where(releases.c.id == pk).values(attempts=releases.c.attempts + 1)
    )


async def record_fetch_error(db: Database, pk: int, error: str) -> None:
    await db.execute(
        releases.update()
        .where(releases.c.id == pk, releases.c.approvers_fetched_at.is_(None))
        .values(approvers_error=error)
    )


async def store_approvers(
    db: Database,
    pk: int,
    rows: Sequence[dict[str, Any]],
    needed: int,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> bool:
    """Keep the fetched approvers (and the release's `details`, when given), unless
    another worker already did; True when stored."""
    values: dict[str, Any] = {
        "approvers_fetched_at": now,
        "approvers_error": None,
        "approvals_needed": needed,
    }
    if details is not None:
        values["details"] = details
    async with db.transaction():
        claimed = await db.fetch_one(
            releases.update()
            .where(releases.c.id == pk, releases.c.approvers_fetched_at.is_(None))
            .values(**values)
            .returning(releases.c.id)
        )
        if claimed is None:
            return False
        await db.execute_many(
            release_approvers.insert(), [{**row, "release_id": pk} for row in rows]
        )
    return True


async def set_status(db: Database, pk: int, status: str, now: datetime) -> bool:
    """Decide a pending release; False when it was decided already."""
    decided = await db.fetch_one(
        releases.update()
        .where(releases.c.id == pk, releases.c.status == PENDING)
        .values(status=status, decided_at=now)
        .returning(releases.c.id)
    )
    return decided is not None


async def record_decision(
    db: Database,
    approver_id: int,
    decision: str,
    channel: str,
    now: datetime,
    comment: str | None = None,
) -> None:
    await db.execute(
        release_approvers.update()
        .where(release_approvers.c.id == approver_id, release_approvers.c.decision.is_(None))
        .values(decision=decision, channel=channel, decided_at=now, comment=comment)
    )


async def set_details(db: Database, pk: int, details: dict[str, Any]) -> None:
    await db.execute(releases.update().where(releases.c.id == pk).values(details=details))


def _unnotified(now: datetime) -> sa.ColumnElement[bool]:
    """Approvers still to notify: never claimed, or claimed by a process that died."""
    return sa.and_(
        release_approvers.c.decision.is_(None),
        sa.or_(
            release_approvers.c.notified_at.is_(None),
            sa.and_(
                release_approvers.c.notify_error == IN_FLIGHT,
                release_approvers.c.notified_at < now - NOTIFY_LEASE,
            ),
        ),
    )


async def unnotified_approvers(db: Database, pk: int, now: datetime) -> list[dict]:
    return await db.fetch_all(
        release_approvers.select()
        .where(release_approvers.c.release_id == pk, _unnotified(now))
        .order_by(release_approvers.c.id)
    )


async def releases_needing_work(db: Database, now: datetime) -> list[int]:
    """Pending releases whose approvers are not fetched yet, or not all notified."""
    unnotified = (
        sa.select(release_approvers.c.id)
        .where(release_approvers.c.release_id == releases.c.id, _unnotified(now))
        .exists()
    )
    rows = await db.fetch_all(
        sa.select(releases.c.id)
        .where(
            releases.c.status == PENDING,
            sa.or_(releases.c.approvers_fetched_at.is_(None), unnotified),
        )
        .order_by(releases.c.id)
    )
    return [row["id"] for row in rows]


async def claim_notification(
    db: Database, approver_id: int, digest: str, now: datetime, expires_at: datetime
) -> dict | None:
    """Take an approver to notify, with a fresh token; None when another worker has it.

    The conditional UPDATE is the guard: of two workers only one matches the row.
    """
    return await db.fetch_one(
        release_approvers.update()
        .where(release_approvers.c.id == approver_id, _unnotified(now))
        .values(token_hash=digest, expires_at=expires_at, notified_at=now, notify_error=IN_FLIGHT)
        .returning(*release_approvers.c)
    )


async def finish_notification(
    db: Database,
    approver_id: int,
    *,
    retry: bool,
    error: str | None,
    slack_id: str | None = None,
    slack_channel: str | None = None,
    slack_ts: str | None = None,
) -> None:
    """Record how notifying went; `retry` hands the approver back for a later attempt."""
    values: dict[str, Any] = {"notify_error": error}
    if retry:
        values["notified_at"] = None
    if slack_id:
        values["slack_id"] = slack_id
    if slack_channel and slack_ts:
        values["slack_channel"] = slack_channel
        values["slack_ts"] = slack_ts
    await db.execute(
        release_approvers.update().where(release_approvers.c.id == approver_id).values(**values)
    )


async def known_user(db: Database, github_id: int | None, login: str | None) -> dict | None:
    """The user we know by GitHub id, else by login (any case); None when neither."""
    if github_id is not None:
        row = await db.fetch_one(users.select().where(users.c.github_id == github_id))
        if row is not None:
            return row
    if login:
        return await db.fetch_one(
            users.select().where(sa.func.lower(users.c.username) == login.lower())
        )
    return None
