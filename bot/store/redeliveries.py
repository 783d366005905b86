"""The failed deliveries the redelivery backstop asked GitHub for: each GUID asked once.

A GUID is claimed (`asking`) before GitHub is asked, so two runs never ask for it both;
GitHub's answer then makes it `asked` (accepted) or `refused` (a 4xx, never asked
again). A claim whose request GitHub never took (5xx after the retries, a rate limit)
is given back, so a later run asks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from bot.store.database import Database
from bot.store.tables import redelivery_requests
from bot.store.upsert import insert_for

ERROR_MAX_CHARS = 2000


async def asked_guids(db: Database, guids: Iterable[str]) -> set[str]:
    """The GUIDs among `guids` already asked for (or being asked for)."""
    wanted = list(guids)
    if not wanted:
        return set()
    rows = await db.fetch_all(
        sa.select(redelivery_requests.c.guid).where(redelivery_requests.c.guid.in_(wanted))
    )
    return {row["guid"] for row in rows}


async def claim(
    db: Database, guid: str, delivery_id: int, event: str, action: str | None, now: datetime
) -> bool:
    """Take the GUID for asking now; False when it was asked for already."""
    stmt = (
        insert_for(db, redelivery_requests)
        .values(
            guid=guid,
            delivery_id=delivery_id,
            event=event,
            action=action,
            asked_at=now,
            outcome="asking",
        )
        .on_conflict_do_nothing(index_elements=[redelivery_requests.c.guid])
        .returning(redelivery_requests.c.id)
    )
    return await db.fetch_val(stmt) is not None


async def settle(db: Database, guid: str, outcome: str, error: str | None = None) -> None:
    """Record GitHub's answer to the claim: `asked` or `refused` (with why)."""
    await db.execute(
        redelivery_requests.update()
        .where(redelivery_requests.c.guid == guid)
        .values(outcome=outcome, error=None if error is None else error[:ERROR_MAX_CHARS])
    )


async def give_back(db: Database, guid: str) -> None:
    """GitHub never took the request: forget the claim, so a later run asks again."""
    await db.execute(redelivery_requests.delete().where(redelivery_requests.c.guid == guid))


async def get_request(db: Database, guid: str) -> dict | None:
    return await db.fetch_one(
        redelivery_requests.select().where(redelivery_requests.c.guid == guid)
    )
