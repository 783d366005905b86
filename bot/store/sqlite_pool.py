"""SQLite connections kept for the next statement instead of opened for each one.

`databases`' SQLite pool opens a new aiosqlite connection (a thread and the file) each
time a connection is taken, which for us is every statement outside a transaction: a
304 cost a thread start, a list three. This pool keeps up to MAX_IDLE connections that
were given back in a clean state and hands them out again.

A kept connection is dropped instead of reused when the database file at the path is
no longer the one it opened (moved, replaced by a restore, deleted): its handle would
go on reading and writing the old file where a new connection fails or sees the new one.
"""

from __future__ import annotations

import os
from typing import Any

from databases.backends.sqlite import SQLitePool


def _file_id(path: str) -> tuple[int, int] | None:
    """The file at `path` (device, inode); None when there is none, or no file at all."""
    if not path or path.startswith(":memory:") or path.startswith("file:"):
        return None
    try:
        found = os.stat(path.split("?", 1)[0])
    except OSError:
        return None
    return (found.st_dev, found.st_ino)


class ReusingSQLitePool(SQLitePool):
    MAX_IDLE = 8

    def __init__(self, pool: SQLitePool) -> None:
        self.__dict__.update(pool.__dict__)  # the same database and options
        self._idle: list[tuple[Any, tuple[int, int] | None]] = []
        self._files: dict[int, tuple[int, int] | None] = {}

    async def acquire(self) -> Any:
        while self._idle:
            connection, opened = self._idle.pop()
            if opened is None or _file_id(self._database) == opened:
                return connection
            await self._close(connection)  # the file is not the one it opened
        connection = await super().acquire()
        self._files[id(connection)] = _file_id(self._database)
        return connection

    async def release(self, connection: Any) -> None:
        opened = self._files.get(id(connection))
        clean = not connection.in_transaction and opened is not None
        if clean and len(self._idle) < self.MAX_IDLE:
            self._idle.append((connection, opened))
            return
        await self._close(connection)

    async def close_idle(self) -> None:
        """Close the connections kept (at disconnect)."""
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await self._close(connection)

    async def _close(self, connection: Any) -> None:
        self._files.pop(id(connection), None)
        await super().release(connection)
