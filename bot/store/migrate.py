"""Bring the schema up to date with Alembic, and say what was applied."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from bot.paths import shipped

MIGRATIONS_DIR = shipped("migrations")

T = TypeVar("T")


def async_url(url: str) -> str:
    """The SQLAlchemy URL of the async driver the service already uses for `url`."""
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def check_sqlite_folder(database_url: str) -> None:
    """FileNotFoundError naming the folder a SQLite database would live in, when it is not there.

    aiosqlite fails to open such a file in its own thread, which then reports to an event
    loop asyncio.run has already closed: a stray traceback on stderr after our one line.
    """
    if not database_url.startswith("sqlite:///"):
        return
    folder = Path(database_url[len("sqlite:///") :]).parent
    if not folder.is_dir():
        raise FileNotFoundError(f"no folder {folder} for the SQLite database")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # An attribute, not an option: options go through ConfigParser interpolation.
    config.attributes["database_url"] = database_url
    return config


def _outside_event_loop(func: Callable[[], T]) -> T:
    """Call `func` here, or in a thread of its own when an event loop already runs here.

    Alembic's env.py uses asyncio.run, which cannot nest inside a running loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return func()
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="migrate")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def current_revisions(database_url: str) -> set[str]:
    """The revisions the database is at (empty for a new database)."""

    check_sqlite_folder(database_url)

    async def read() -> set[str]:
        engine = create_async_engine(async_url(database_url))
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: set(MigrationContext.configure(sync).get_current_heads())
                )
        finally:
            await engine.dispose()

    return _outside_event_loop(lambda: asyncio.run(read()))


def pending_revisions(database_url: str) -> list[str]:
    """Revisions not applied yet, oldest first, as 'id description'."""
    script = ScriptDirectory.from_config(alembic_config(database_url))
    current = current_revisions(database_url)
    heads = script.get_heads()
    if current == set(heads):
        return []
    revs = script.iterate_revisions(tuple(heads), tuple(current) or "base")
    return [f"{rev.revision} {rev.doc}" for rev in reversed(list(revs))]


def migrate(database_url: str) -> list[str]:
    """Upgrade to the newest revision; return the revisions it applied, oldest first.

    Safe from several processes at once: on PostgreSQL env.py takes an advisory
    lock, so the second process waits and then finds nothing left to do.
    """
    check_sqlite_folder(database_url)
    config = alembic_config(database_url)
    _outside_event_loop(lambda: command.upgrade(config, "head"))
    # Filled by env.py as each revision runs, inside the lock.
    return list(config.attributes.get("applied", []))
