"""The data version as PostgreSQL announces it, so that reading it costs no statement.

Every bump on PostgreSQL is `nextval` and `pg_notify` in one statement, after its
transaction commits (bot/store/data_version.py). Each process LISTENs on its own
connection and keeps the newest value announced; `Database.data_version()` answers
from it while the connection is up, so a 304 runs no statement at all and every
`GET /v1/…` one fewer.

Why it cannot serve a stale 304. The value only moves when a bump is announced, and a
bump only runs after its commit: a reader that sees the new value reads the new rows,
as with the statement it replaces. The value is read from the sequence once LISTEN is
in place, so no bump falls between the two. While the connection is down nothing is
known (`value` is None) and the version is read by a statement again, as before, until
a new connection LISTENs and reads it afresh; the feed reconnects by itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.store import data_version

log = logging.getLogger(__name__)

RETRY_SECONDS = (0.2, 1.0, 5.0)  # between attempts to reconnect, the last repeated


class VersionFeed:
    """The newest data version announced on CHANNEL, or None while not listening."""

    def __init__(self, dsn: str, connect_timeout: float = 5.0) -> None:
        self.dsn = dsn
        self.connect_timeout = connect_timeout
        self.value: int | None = None
        self._heard: int | None = None  # announced while the first read is under way
        self._connection: Any = None
        self._task: asyncio.Task | None = None
        self._closing = False

    async def start(self) -> None:
        """Listen now if the database lets us; otherwise keep trying in the background."""
        self._closing = False  # a database connected again after a stop listens again
        if not await self._listen():
            self._reconnect()

    async def stop(self) -> None:
        self._closing = True
        self.value = None
        if self._task is not None:
            self._task.cancel()
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            try:
                await asyncio.wait_for(connection.close(), 5)
            except (OSError, TimeoutError, asyncio.CancelledError):
                connection.terminate()
            except Exception:  # asyncpg's own errors: it is going anyway
                connection.terminate()

    def note(self, value: int) -> None:
        """A bump this process made: seen at once, before its announcement comes back."""
        if self.value is not None:
            self.value = max(self.value, value)

    async def _listen(self) -> bool:
        import asyncpg

        connection = None
        try:
            connection = await asyncpg.connect(self.dsn, timeout=self.connect_timeout)
            self._heard = None
            await connection.add_listener(data_version.CHANNEL, self._announced)
            connection.add_termination_listener(self._lost)
            read = int(await connection.fetchval(data_version.read_sql(True)))
        except Exception as exc:
            if connection is not None:
                connection.terminate()
            log.warning("cannot listen for data version changes", extra={"error": repr(exc)})
            return False
        if self._closing or connection.is_closed():  # (lost during the read: not heard of)
            connection.terminate()
            return False
        # No await from here on: no announcement or loss can slip in between.
        self._connection = connection
        self.value = max(read, self._heard or 0)
        return True

    def _announced(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        try:
            value = int(payload)
        except ValueError:
            return  # not ours
        if self.value is not None:
            self.value = max(self.value, value)
        else:
            self._heard = max(self._heard or 0, value)

    def _lost(self, connection: Any) -> None:
        if connection is not self._connection:
            return
        self.value = None
        self._connection = None
        if not self._closing:
            log.warning("lost the data version feed; reading the version until it is back")
            self._reconnect()

    def _reconnect(self) -> None:
        if self._closing or (self._task is not None and not self._task.done()):
            return
        self._task = asyncio.get_running_loop().create_task(self._retry())

    async def _retry(self) -> None:
        attempt = 0
        while not self._closing:
            await asyncio.sleep(RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)])
            if await self._listen():
                log.info("data version feed is back")
                return
            attempt += 1
