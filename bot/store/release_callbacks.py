"""Queries on what the gate owes CD systems (release_callbacks) and their secrets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.store.database import Database
from bot.store.tables import release_callbacks, release_secrets

PENDING, DELIVERED, REFUSED, DROPPED = "pending", "delivered", "refused", "dropped"


async def queue(
    db: Database, release_pk: int, final: bool, url: str, body: dict[str, Any], now: datetime
) -> None:
    await db.execute(
        release_callbacks.insert().values(
            release_id=release_pk,
            final=final,
            url=url,
            body=body,
            state=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


async def drop_pending_reports(db: Database, release_pk: int) -> None:
    """Status reports not sent yet are moot once the decision is on its way."""
    await db.execute(
        release_callbacks.update()
        .where(
            release_callbacks.c.release_id == release_pk,
            release_callbacks.c.state == PENDING,
            release_callbacks.c.final.is_(False),
        )
        .values(state=DROPPED)
    )


async def count_reports(db: Database, release_pk: int) -> int:
    return await db.fetch_val(
        sa.select(sa.func.count())
        .select_from(release_callbacks)
        .where(release_callbacks.c.release_id == release_pk, release_callbacks.c.final.is_(False))
    )


async def final_pending(db: Database, release_pk: int) -> bool:
    """True while the release's decision is queued and not yet delivered or refused."""
    found = await db.fetch_val(
        sa.select(release_callbacks.c.id).where(
            release_callbacks.c.release_id == release_pk,
            release_callbacks.c.final.is_(True),
            release_callbacks.c.state == PENDING,
        )
    )
    return found is not None


async def due(db: Database, now: datetime, release_pk: int | None = None) -> list[int]:
    """Pending callbacks whose time has come, oldest first."""
    query = sa.select(release_callbacks.c.id).where(
        release_callbacks.c.state == PENDING, release_callbacks.c.next_attempt_at <= now
    )
    if release_pk is not None:
        query = query.where(release_callbacks.c.release_id == release_pk)
    rows = await db.fetch_all(query.order_by(release_callbacks.c.id))
    return [row["id"] for row in rows]


async def claim(db: Database, pk: int, now: datetime, lease: timedelta) -> dict | None:
    """Take a due callback to send, for `lease`; None when another worker has it.

    The conditional UPDATE is the guard; a worker that dies mid-send leaves the row
    to be taken again once the lease ends.
    """
    return await db.fetch_one(
        release_callbacks.update()
        .where(
            release_callbacks.c.id == pk,
            release_callbacks.c.state == PENDING,
            release_callbacks.c.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + lease)
        .returning(*release_callbacks.c)
    )


async def finish(
    db: Database,
    pk: int,
    state: str,
    *,
    error: str | None,
    now: datetime,
    retry_at: datetime | None = None,
    attempts: int = 0,
) -> None:
    """Record how a send went: delivered, refused, or still pending until `retry_at`."""
    values: dict[str, Any] = {"state": state, "error": error}
    if attempts:
        values["attempts"] = release_callbacks.c.attempts + attempts
    if state == DELIVERED:
        values["delivered_at"] = now
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    await db.execute(
        release_callbacks.update().where(release_callbacks.c.id == pk).values(**values)
    )


async def callbacks_by_release(db: Database, pks: Sequence[int]) -> dict[int, list[dict]]:
    """The callbacks of many releases in one query, oldest first."""
    grouped: dict[int, list[dict]] = {pk: [] for pk in pks}
    if not pks:
        return grouped
    rows = await db.fetch_all(
        release_callbacks.select()
        .where(release_callbacks.c.release_id.in_(list(pks)))
        .order_by(release_callbacks.c.id)
    )
    for row in rows:
        grouped[row["release_id"]].append(row)
    return grouped


async def keep_secret(db: Database, release_pk: int, auth_token: str) -> None:
    await db.execute(release_secrets.insert().values(release_id=release_pk, auth_token=auth_token))


async def secret_of(db: Database, release_pk: int) -> str | None:
    return await db.fetch_val(
        sa.select(release_secrets.c.auth_token).where(release_secrets.c.release_id == release_pk)
    )


async def forget_secret(db: Database, release_pk: int) -> None:
    await db.execute(release_secrets.delete().where(release_secrets.c.release_id == release_pk))
