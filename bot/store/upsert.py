"""`INSERT ... ON CONFLICT` in the dialect of the database at hand."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.database import Database


def insert_for(db: Database, table: sa.Table) -> Any:
    """An INSERT on `table` that knows `on_conflict_do_update` on either backend."""
    return insert_on(db.is_postgres, table)


def insert_on(postgres: bool, table: sa.Table) -> Any:
    """`insert_for` by backend, for statements built once per backend."""
    return (postgresql.insert if postgres else sqlite.insert)(table)
