"""`INSERT ... ON CONFLICT` in the dialect of the database at hand."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.database import Database


def insert_for(db: Database, table: sa.Table) -> Any:
    """An INSERT on `table` that knows `on_conflict_do_update` on either backend."""
    return (postgresql.insert if db.is_postgres else sqlite.insert)(table)
