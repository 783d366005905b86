"""Alembic environment: runs the migrations over the async drivers the service uses."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store.migrate import async_url
from bot.store.tables import metadata

# Any constant shared by every process: concurrent `reviewer migrate` runs queue on it.
MIGRATION_LOCK_ID = 72_616_001

config = context.config
target_metadata = metadata


def record_applied(*, ctx, step, heads, run_args) -> None:
    """Note each revision this process really ran (not what another process did)."""
    config.attributes.setdefault("applied", []).append(
        f"{step.up_revision.revision} {step.up_revision.doc}"
    )


def run_migrations(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        on_version_apply=record_applied,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Held until this transaction commits, so a second process waits and
            # then finds the schema already current.
            connection.execute(sa.text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})"))
        context.run_migrations()


async def run_async() -> None:
    engine = create_async_engine(async_url(config.attributes["database_url"]))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.attributes["database_url"], target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async())
