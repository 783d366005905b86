"""The data version: a number that moves after every committed change the read API shows.

`GET /v1/…` reads it first and answers 304 when it, the URL and the viewer are those
an `If-None-Match` tag was made from (bot/api/conditional.py says why that is safe).
`Database` moves it (bot/store/database.py): it notes each statement that writes a
table the API shows, and bumps the version

- on PostgreSQL with `nextval('data_version')` AFTER the transaction commits: a
  sequence is not transactional and takes no row lock, so sixteen webhook
  transactions at once never queue behind one hot row until their commits; the same
  statement announces the value (NOTIFY), which every process keeps
  (bot/store/version_feed.py), so reading the version costs no statement there;
- on SQLite with `UPDATE data_version SET value = value + 1` as the last statement
  INSIDE the transaction: SQLite lets one writer at a time anyway, and the bump then
  commits atomically with the change (no window at all).

Pure: which statements write shown tables, and the SQL of the bump and the read.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.dml import UpdateBase

# Tables no read answer shows: writing them (a duplicate delivery's claim, a reminder
# sent) leaves every ETag as it was. Any other table, known or new, moves the version.
UNSHOWN_TABLES = frozenset(
    {
        "webhook_deliveries",
        "redelivery_requests",
        "reminders",
        "realtime_notices",
        "escalations",
        "release_secrets",
    }
)

_WRITE_RE = re.compile(
    r"^\s*(?:insert\s+(?:or\s+\w+\s+)?into|update|delete\s+from|replace\s+into)\s+\"?(\w+)",
    re.IGNORECASE,
)
_READ_RE = re.compile(r"^\s*(?:select|values|pragma|explain|show)\b", re.IGNORECASE)


def written_table(query: Any) -> str | None:
    """The table a statement writes; "" when it may write an unknown one; None for reads."""
    if isinstance(query, UpdateBase):
        return getattr(query.table, "name", "")
    if isinstance(query, sa.TextClause):
        query = query.text
    if not isinstance(query, str):
        return None  # a SELECT construct
    match = _WRITE_RE.match(query)
    if match:
        return match.group(1).lower()
    return None if _READ_RE.match(query) else ""


def shows_change(query: Any) -> bool:
    """Whether running `query` may change what some read answer shows."""
    table = written_table(query)
    return table is not None and table not in UNSHOWN_TABLES


# Constant statements (migration 0006 makes their objects).
# PostgreSQL announces each bump to every process (bot/store/version_feed.py), in the
# same statement, which answers the new value.
CHANNEL = "reviewer_data_version"
_BUMP = {
    True: "WITH bumped AS (SELECT nextval('data_version') AS value)"
    " SELECT value, pg_notify('reviewer_data_version', value::text) FROM bumped",
    False: "UPDATE data_version SET value = value + 1",
}
# last_value is the newest value any session took, committed or not (a sequence is not
# transactional): exactly what a bump after commit needs.
_READ = {True: "SELECT last_value FROM data_version", False: "SELECT value FROM data_version"}


def bump_sql(postgres: bool) -> str:
    return _BUMP[postgres]


def read_sql(postgres: bool) -> str:
    return _READ[postgres]
