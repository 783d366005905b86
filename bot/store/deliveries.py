"""Webhook delivery bookkeeping: each GUID is applied once; failures are kept with their reason."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.store.database import Database, built_once
from bot.store.tables import webhook_deliveries
from bot.store.upsert import insert_for, insert_on

ERROR_MAX_CHARS = 2000


def _upsert_over_failed(db: Database, columns: tuple[str, ...], **values: Any) -> Any:
    """Insert a delivery row; over an existing row only if that one failed, taking `columns`.

    A row that is applied or ignored is never touched again.
    """
    stmt = insert_for(db, webhook_deliveries).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=[webhook_deliveries.c.guid],
        set_={name: stmt.excluded[name] for name in columns},
        where=webhook_deliveries.c.outcome == "failed",
    )


@functools.cache
def _claim(postgres: bool) -> Any:
    """The claim's statement, built and compiled once: it runs at every delivery."""
    c = webhook_deliveries.c
    stmt = insert_on(postgres, webhook_deliveries).values(
        {**{name: sa.bindparam(name, type_=c[name].type) for name in _CLAIMED}, "error": None}
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[c.guid],
        set_={name: stmt.excluded[name] for name in (*_CLAIMED[1:], "error")},
        where=c.outcome == "failed",
    )
    return built_once(stmt.returning(c.id))


_CLAIMED = ("guid", "event", "action", "received_at", "applied_at", "outcome")


async def claim_delivery(
    db: Database, guid: str, event: str, action: str | None, outcome: str, now: datetime
) -> bool:
    """Record a delivery as `outcome` (applied or ignored); False when it was already done.

    Run it first in the transaction that applies the delivery: the unique GUID makes
    a second, concurrent delivery wait for the first and then find it done. A GUID
    recorded as failed is claimed again (every column but the GUID taken anew, the error
    cleared), so GitHub's redelivery applies it.
    """
    values = {
        "guid": guid,
        "event": event,
        "action": action,
        "received_at": now,
        "applied_at": now,
        "outcome": outcome,
    }
    return await db.fetch_val(_claim(db.is_postgres), values) is not None


async def record_failure(
    db: Database, guid: str, event: str, action: str | None, error: str, now: datetime
) -> None:
    """Keep why a delivery failed, after its transaction rolled back (never over a success)."""
    stmt = _upsert_over_failed(
        db,
        ("received_at", "error"),
        guid=guid,
        event=event,
        action=action,
        received_at=now,
        applied_at=None,
        outcome="failed",
        error=error[:ERROR_MAX_CHARS],
    )
    await db.execute(stmt)


async def get_delivery(db: Database, guid: str) -> dict | None:
    return await db.fetch_one(webhook_deliveries.select().where(webhook_deliveries.c.guid == guid))


async def done_guids(db: Database, guids: Iterable[str]) -> set[str]:
    """The GUIDs among `guids` applied (or ignored) here: nothing is left to do for them."""
    wanted = list(guids)
    if not wanted:
        return set()
    rows = await db.fetch_all(
        sa.select(webhook_deliveries.c.guid).where(
            webhook_deliveries.c.guid.in_(wanted), webhook_deliveries.c.outcome != "failed"
        )
    )
    return {row["guid"] for row in rows}
