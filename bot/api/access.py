"""Who may read: READ_ACCESS, bearer tokens, and people signed in with GitHub.

One middleware decides, for `GET /` and every `GET /v1/…`, who is reading and what
they may see, before any route runs (and before the ETag, which depends on it); a read
route declares `auth=READ` and gets that `Reader` as `auth=`, whose `visible` it passes
to its queries (bot/store/visibility.py). Under `public` everyone sees everything.
Otherwise a bearer token from API_TOKENS or READ_TOKENS sees everything (always
accepted, whatever READ_ACCESS), a wrong one is 403; a person signed in with GitHub
(whenever the App's OAuth client is configured) sees the repositories GitHub says
they can access through the App's installations, asked of GitHub with their own
token and cached for CACHE_SECONDS, so a dashboard polling every few seconds costs
GitHub one call per person per few minutes. Anyone else gets 401 from `/v1/…`, and a
302 to GitHub's authorize page from `GET /`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from cachetools import TTLCache
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.api.auth import token_matches
from bot.api.declare import BEARER_SCHEME, Answer, Auth, Header, error
from bot.api.errors import error_response
from bot.api.sessions import (
    SESSION_COOKIE,
    Session,
    clear_cookie,
    open_session,
    sealer,
)
from bot.api.sessions import secure_cookies as secure
from bot.api.signin import start_signin
from bot.github.oauth import GitHubRefused, GitHubUnreachable, accessible_repositories
from bot.settings import Settings
from bot.store.visibility import EVERYTHING, Visible

log = logging.getLogger(__name__)

CACHE_SECONDS = 300
READ_METHODS = ("GET", "HEAD")


@dataclass(frozen=True)
class Reader:
    who: str  # "public", "token" or "github:<login>"
    visible: Visible


PUBLIC = Reader("public", EVERYTHING)
TOKEN = Reader("token", EVERYTHING)


def guarded(scope: Scope) -> bool:
    """The reads READ_ACCESS governs: the dashboard and the read API."""
    path = scope["path"]
    return scope["method"] in READ_METHODS and (path == "/" or path.startswith("/v1/"))


def reader_of(request: Request) -> Reader:
    """Who reads this request; set by AccessMiddleware (absent: a route it does not guard)."""
    reader = request.scope.get("state", {}).get("reader")
    if not isinstance(reader, Reader):
        raise RuntimeError(f"{request.url.path} is not guarded by AccessMiddleware")
    return reader


def visible_to(request: Request) -> Visible:
    return reader_of(request).visible


# Declared by every `GET /v1/…`: who may read, and the conditional-read headers.
READ = Auth(
    "bearer",
    BEARER_SCHEME,
    [
        Answer(304, "Unchanged since the ETag sent in If-None-Match; no body."),
        error(401, "No session and no bearer token, while READ_ACCESS is github or token."),
        error(403, "A bearer token in neither API_TOKENS nor READ_TOKENS."),
        error(502, "GitHub did not say which repositories the signed-in person may see."),
    ],
    reader_of,
    also={
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": SESSION_COOKIE,
            "description": "Set by signing in with GitHub at /login.",
        }
    },
    optional=True,
    request_headers={
        "If-None-Match": Header("The ETag of an earlier answer: 304 while it is current.")
    },
    answer_headers={"ETag": Header("Strong; send it back in If-None-Match.")},
)


class RepositoryCache:
    """Each signed-in person's visible repositories, for CACHE_SECONDS."""

    def __init__(self, seconds: float = CACHE_SECONDS, size: int = 4096) -> None:
        self._cache: TTLCache[int, Visible] = TTLCache(maxsize=size, ttl=seconds)
        self._locks: dict[int, asyncio.Lock] = {}

    async def visible(self, settings: Settings, session: Session) -> Visible:
        found = self._cache.get(session.github_id)
        if found is not None:
            return found
        # One question to GitHub at a time per person, however many polls arrive at once.
        lock = self._locks.setdefault(session.github_id, asyncio.Lock())
        try:
            async with lock:
                found = self._cache.get(session.github_id)
                if found is None:
                    repos = await accessible_repositories(settings, session.token)
                    found = self._cache[session.github_id] = Visible.repositories(repos)
        finally:
            if not lock.locked():
                self._locks.pop(session.github_id, None)
        return found

    def forget(self, github_id: int) -> None:
        self._cache.pop(github_id, None)


class AccessMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not guarded(scope):
            await self.app(scope, receive, send)
            return
        outcome = await who_reads(Request(scope))
        if isinstance(outcome, Response):
            await outcome(scope, receive, send)
            return
        scope.setdefault("state", {})["reader"] = outcome
        await self.app(scope, receive, send)


async def who_reads(request: Request) -> Reader | Response:
    """The reader of a guarded request, or the answer that refuses it."""
    state = request.app.state
    settings: Settings = state.settings
    if settings.read_access == "public":
        return PUBLIC
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        if token_matches(token.strip(), settings.api_tokens + settings.read_tokens):
            return TOKEN
        return error_response(403, "the token is not valid")
    seal = sealer(settings)
    cookie = request.cookies.get(SESSION_COOKIE)
    session = open_session(seal, cookie, state.clock().timestamp()) if seal else None
    if session is not None:
        try:
            visible = await state.repositories.visible(settings, session)
        except GitHubRefused as exc:
            if exc.status != 401:  # a rate limit, say: not a reason to sign in again
                return _github_failed(str(exc))
            # The person revoked the App's authorisation, or GitHub ended the token.
            state.repositories.forget(session.github_id)
        except GitHubUnreachable as exc:
            return _github_failed(str(exc))
        else:
            return Reader(f"github:{session.login}", visible)
    if seal is not None and request.url.path == "/":
        answer = start_signin(request, next_path=_here(request))
    else:
        detail = "sign in with GitHub at /login, or send a bearer token"
        if seal is None:
            detail = "a bearer token is required"
        answer = error_response(401, detail, headers={"WWW-Authenticate": "Bearer"})
    if cookie:  # tampered with, expired or revoked: gone
        clear_cookie(answer, SESSION_COOKIE, secure(settings, request.url.scheme))
    return answer


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _github_failed(why: str) -> Response:
    log.warning("cannot tell which repositories a person may see", extra={"error": why})
    return error_response(502, f"cannot tell which repositories you may see: {why}")
