"""Pages of the lists in id order, and their totals, counted once per data version.

A page is a window on a list in id order: after an id (a keyset cursor,
`WHERE id > :after ORDER BY id LIMIT :n`, which costs the same at the end of the
table as at its start) or at an offset (page numbers, for the seed's clients: the
database reads and drops every row an `OFFSET` skips).

A total is `count(*)` over every matching row (11.5 ms of PostgreSQL CPU at 67,000
open pull requests): it runs at most once per data version, filters and reader, and
the answer is kept in this process (`Totals`). Why a kept total is never older than
the version it is kept under: the request read the version BEFORE counting (the ETag
middleware reads it first), and a change is in version V only once it has committed
(bot/store/data_version.py), so a count made under V includes every change of V. It
may include a newer change whose bump is still to come: that is counted again under
the next version, as an ETag of the old version may be on the new rows.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from cachetools import LRUCache

from bot.store.database import Database


@dataclass(frozen=True)
class Window:
    """The rows of an id-ordered list a page holds, and whether its total is wanted."""

    limit: int
    after: int | None = None  # a keyset cursor: ids above this one
    offset: int = 0  # page numbers
    total_at: int | None = None  # the data version to count at; None: no total


class Totals:
    """Totals by (data version, filters, reader); concurrent misses of one key share
    one count (the first counts, the others wait for its answer)."""

    # Keys of old versions are never asked again: the least recently used go first.
    MAX_ENTRIES = 1024

    def __init__(self) -> None:
        self._known: LRUCache[Hashable, int] = LRUCache(self.MAX_ENTRIES)
        self._counting: dict[Hashable, asyncio.Future[int | None]] = {}

    async def get(self, key: Hashable, count: Callable[[], Awaitable[int]]) -> int:
        while True:
            known = self._known.get(key)
            if known is not None:
                return known
            counting = self._counting.get(key)
            if counting is None:
                break
            # shield: a waiter that is cancelled must not cancel the answer for the others.
            total = await asyncio.shield(counting)
            if total is not None:
                return total
            # The one counting failed or was cancelled: count again (or wait for who does).
        done = asyncio.get_running_loop().create_future()
        self._counting[key] = done
        total = None
        try:
            total = await count()
            self._known[key] = total
            return total
        finally:
            del self._counting[key]
            done.set_result(total)


# One per database: versions of two databases (the tests make many) are unrelated.
_TOTALS: weakref.WeakKeyDictionary[Database, Totals] = weakref.WeakKeyDictionary()


def totals_of(db: Database) -> Totals:
    totals = _TOTALS.get(db)
    if totals is None:
        totals = _TOTALS[db] = Totals()
    return totals


async def total(db: Database, counting: sa.Select, at_version: int | None, key: Hashable) -> int:
    """`counting`'s count, kept under `at_version` and `key` (None: counted now)."""
    if at_version is None:
        return await db.fetch_val(counting)
    return await totals_of(db).get((at_version, key), lambda: db.fetch_val(counting))


async def paged(
    db: Database,
    table: sa.Table,
    conditions: Sequence[sa.ColumnElement[bool]],
    window: Window,
    key: Hashable,
) -> tuple[int | None, list[dict]]:
    """The total (None unless asked) and the rows of `window` among `table`'s rows that
    meet `conditions`; `key` names those conditions (filters and reader) for the total."""
    counted = None
    if window.total_at is not None:
        counting = sa.select(sa.func.count()).select_from(table).where(*conditions)
        counted = await total(db, counting, window.total_at, key)
    query = table.select().where(*conditions)
    if window.after is not None:
        query = query.where(table.c.id > window.after)
    if window.offset:
        query = query.offset(window.offset)
    return counted, await db.fetch_all(query.order_by(table.c.id).limit(window.limit))
