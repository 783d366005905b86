"""Conditional reads: a strong ETag on every `GET /v1/…` answer, 304 for `If-None-Match`.

The tag is a hash of the data version (bot/store/data_version.py), the path with its
query string, and what the reader may see (their visible repositories' key), so it
changes whenever a committed write could change an answer (a webhook, a poll, a PATCH,
a release decision, a restart with new code or settings) and not after a read. The
304 path reads the version, one statement, and none of the rows.

Why a stale 304 cannot happen. A request reads the version BEFORE its rows. A change
moves the version AFTER it commits (PostgreSQL) or in the same commit (SQLite). So a
request that read the new version reads rows that include the change; one that read
the old version may have read the new rows or the old ones, and its tag, made from the
old version, stops matching as soon as the version moves. What can never happen is a
tag of the new version on the old rows, the one case that would then be answered 304
forever. Between a commit and its bump (microseconds, before the writer's own call
returns) a poll may still get 304 for the old rows: it asked before the write was done.
A process that dies in that window leaves the version behind until the next write or
start-up, which bumps it; a bump that fails or is cancelled after its commit is retried
at once in the background and, failing that, before the process's next version read.
The bump is a sequence's nextval after the writing transaction, on its connection:
concurrent writers never wait on one another for it (no hot row held until commit), and
it costs one statement per write transaction (webhook throughput at 16 connections on
PostgreSQL, on this loaded 2-core machine: 13/s against 14/s without it).

Some answers change with time alone: a release's status turns `expired` when its tokens
do. A route says when (`changes_at(request, moment)`); the tag then carries that moment
and stops matching once it has passed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.api.access import reader_of
from bot.api.errors import unavailable_error
from bot.store.availability import UNAVAILABLE_TYPES

CACHE_CONTROL = "private, no-cache"
VARY = "Authorization, Cookie"
_CHANGES_AT = "changes_at"
_DATA_VERSION = "data_version"


def changes_at(request: Request, moment: datetime | None) -> None:
    """The answer shows something that changes at `moment` with no write (None: never)."""
    if moment is None:
        return
    state = request.scope.setdefault("state", {})
    earliest = state.get(_CHANGES_AT)
    if earliest is None or moment < earliest:
        state[_CHANGES_AT] = moment


async def data_version_of(request: Request) -> int:
    """The data version this request read first (the middleware keeps it in the scope)."""
    version = request.scope.get("state", {}).get(_DATA_VERSION)
    if version is None:  # outside GET /v1/…: read now
        version = await request.app.state.db.data_version()
    return version


def base_tag(version: int, scope: Scope, reader_key: str) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    text = f"{version}\n{scope['path']}?{query}\n{reader_key}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def make_etag(base: str, until: datetime | None) -> str:
    return f'"{base}"' if until is None else f'"{base}.{int(until.timestamp())}"'


def matching_tag(if_none_match: str, base: str, now: datetime) -> str | None:
    """The tag the client holds that is still this answer's, if any (`W/` compares too)."""
    for candidate in if_none_match.split(","):
        tag = candidate.strip().removeprefix("W/").strip('"')
        found, _, until = tag.partition(".")
        if found != base:
            continue
        if not until or (until.isdigit() and now.timestamp() < int(until)):
            return f'"{tag}"'
    return None


class ConditionalMiddleware:
    """ETag and 304 for `GET /v1/…`; inside AccessMiddleware, which names the reader."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not scope["path"].startswith("/v1/")
        ):
            await self.app(scope, receive, send)
            return
        app = scope["app"]
        reader = reader_of(Request(scope))
        try:
            version = await app.state.db.data_version()  # first: before any row is read
        except UNAVAILABLE_TYPES as exc:  # outside the routes' handlers: the same 503
            answer = await unavailable_error(Request(scope), exc)
            await answer(scope, receive, send)
            return
        # For the routes: what they keep by version (list totals) is keyed by this one.
        scope.setdefault("state", {})[_DATA_VERSION] = version
        base = base_tag(version, scope, reader.visible.key)
        asked = Headers(scope=scope).get("if-none-match")
        held = matching_tag(asked, base, app.state.clock()) if asked else None
        if held is not None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": [
                        (b"etag", held.encode("latin-1")),
                        (b"cache-control", CACHE_CONTROL.encode()),
                        (b"vary", VARY.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        db = app.state.db

        async def send_tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The answer is made: its statements are over (bot/store/database.py).
                await db.done_reading()
                if message["status"] == 200:
                    headers = MutableHeaders(scope=message)
                    headers["ETag"] = make_etag(base, scope.get("state", {}).get(_CHANGES_AT))
                    headers["Cache-Control"] = CACHE_CONTROL
                    headers["Vary"] = VARY
            await send(message)

        # One pooled connection for the route's statements, from the first to the answer.
        reading = db.reading()
        await reading.__aenter__()
        try:
            await self.app(scope, receive, send_tagged)
        except BaseException as exc:
            await reading.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        await reading.__aexit__(None, None, None)
