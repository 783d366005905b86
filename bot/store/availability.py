"""Which errors say the database cannot be reached (down, restarting, the connection
cut), as opposed to a bug: those are answered 503, and a retry will work."""

from __future__ import annotations

import sqlite3

import asyncpg

# The server refuses, drops or is shutting down our connections, or has no room for one.
POSTGRES_UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, e.g. the connection went away
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,  # starting up, shutting down
    asyncpg.exceptions.TooManyConnectionsError,
)
# The types an exception handler is registered for; `database_unavailable` decides.
UNAVAILABLE_TYPES: tuple[type[Exception], ...] = (
    OSError,  # refused, reset (TimeoutError and ConnectionError are OSErrors)
    asyncpg.InterfaceError,
    asyncpg.exceptions.ObjectNotInPrerequisiteStateError,
    sqlite3.OperationalError,
    *POSTGRES_UNAVAILABLE,
)


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` means the database is out of reach for now."""
    if isinstance(exc, (OSError, *POSTGRES_UNAVAILABLE)):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        # "connection is closed" / "connection was closed in the middle of operation";
        # other interface errors are our misuse, a bug.
        return "closed" in str(exc)
    if isinstance(exc, asyncpg.exceptions.ObjectNotInPrerequisiteStateError):
        # ALTER DATABASE ... ALLOW_CONNECTIONS false, as in a maintenance window
        return "not currently accepting connections" in str(exc)
    if isinstance(exc, sqlite3.OperationalError):
        return "unable to open database file" in str(exc)
    return False
