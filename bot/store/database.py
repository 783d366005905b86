"""The connection to the database: `databases` with a query counter and dict rows."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import databases
from sqlalchemy.sql import ClauseElement

Query = ClauseElement | str

log = logging.getLogger(__name__)


def as_dict(row: Any) -> dict[str, Any]:
    """A row as a plain dict, with column types applied on every backend.

    `row._mapping` on asyncpg holds the raw values; indexing the row applies the
    result processors (our JSON and UTC types), so we index key by key, taking the
    names from the record's column map, which both backends fill.
    """
    return {key: row[key] for key in row._column_map}


class Database:
    """One database for the whole process; counts the statements it runs."""

    def __init__(self, url: str, disconnect_timeout: float = 10.0, **options: Any) -> None:
        self.url = url
        self.disconnect_timeout = disconnect_timeout
        self.backend = "postgresql" if url.startswith("postgresql") else "sqlite"
        if self.backend == "postgresql":
            options.setdefault("min_size", 1)
            options.setdefault("max_size", 10)
        self._db = databases.Database(url, **options)
        # SQLite answers "database is locked" at once, without waiting, when two
        # transactions that both read go on to write; they take turns here instead.
        self._turns = asyncio.Lock() if self.backend == "sqlite" else None
        self._in_transaction = contextvars.ContextVar(f"in_transaction_{id(self)}", default=False)
        # Read by the query-count tests and the benchmarks; cheap enough to keep always.
        self.query_count = 0

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgresql"

    @property
    def is_connected(self) -> bool:
        return self._db.is_connected

    async def connect(self) -> None:
        await self._db.connect()

    async def disconnect(self) -> None:
        """Close the connections; a pool that will not drain in time is cut off.

        After the server dropped a connection mid-transaction `databases` can leave it
        checked out of asyncpg's pool, whose graceful close would then wait forever (a
        shutdown that never ends); cancelled, asyncpg terminates the pool instead.
        """
        try:
            await asyncio.wait_for(self._db.disconnect(), self.disconnect_timeout)
        except TimeoutError:
            log.warning(
                "database connections not returned in time; closed them",
                extra={"seconds": self.disconnect_timeout},
            )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """`async with db.transaction():`: everything inside commits or nothing does."""
        if self._turns is None or self._in_transaction.get():
            async with self._transaction():
                yield
            return
        async with self._turns:
            entered = self._in_transaction.set(True)
            try:
                async with self._transaction():
                    yield
            finally:
                self._in_transaction.reset(entered)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """One `databases` transaction, giving back any connection it kept."""
        connection = self._db.connection()
        depth = connection._connection_counter
        try:
            async with self._db.transaction():
                yield
        finally:
            # `databases` (0.9) takes a connection from the pool before BEGIN and keeps it
            # when BEGIN fails or is cancelled (a job stopped at shutdown, a dropped
            # connection): give it back, or the pool loses it and its close at shutdown
            # waits for it for ever.
            for _ in range(connection._connection_counter - depth):
                await connection.__aexit__()

    def connection(self) -> Any:
        return self._db.connection()

    async def fetch_all(self, query: Query, values: Mapping[str, Any] | None = None) -> list[dict]:
        self.query_count += 1
        return [as_dict(r) for r in await self._db.fetch_all(query, values)]

    async def fetch_one(self, query: Query, values: Mapping[str, Any] | None = None) -> dict | None:
        self.query_count += 1
        row = await self._db.fetch_one(query, values)
        return None if row is None else as_dict(row)

    async def fetch_val(self, query: Query, values: Mapping[str, Any] | None = None) -> Any:
        self.query_count += 1
        return await self._db.fetch_val(query, values)

    async def execute(self, query: Query, values: Mapping[str, Any] | None = None) -> Any:
        self.query_count += 1
        return await self._db.execute(query, values)

    async def execute_many(self, query: Query, values: list[Mapping[str, Any]]) -> None:
        self.query_count += 1
        await self._db.execute_many(query, values)
