"""Sign in with GitHub: `/login`, `/oauth/callback`, `/logout`.

`/login` (and `GET /` without a session) hands out a random `state` in a sealed
short-lived cookie and sends the browser to GitHub's authorize page; GitHub sends it
back to `/oauth/callback?code=…&state=…`, where the state must equal the cookie's
(compared in constant time: a forged callback cannot sign anyone in as someone else),
and the code becomes the user's token, kept in the sealed session cookie.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Annotated

from pydantic import Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.api.declare import Answer, Api, error
from bot.api.errors import ApiError, NotFound, ValidationError
from bot.api.models import Query
from bot.api.sessions import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    STATE_COOKIE,
    STATE_SECONDS,
    Sealer,
    Session,
    clear_cookie,
    open_session,
    sealer,
    secure_cookies,
    session_value,
    set_cookie,
)
from bot.github.oauth import (
    GitHubRefused,
    GitHubUnreachable,
    authorize_url,
    exchange_code,
    signed_in,
)

log = logging.getLogger(__name__)

api = Api("sign-in")
CALLBACK_PATH = "/oauth/callback"
HTML = "text/html"


def redirect_uri(request: Request) -> str:
    return request.app.state.settings.public_url + CALLBACK_PATH


def safe_next(value: str | None) -> str:
    """A path on this service to return to; anything else (another site) is `/`."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    return value


def _require_client(request: Request) -> None:
    _sealer(request)


def _sealer(request: Request) -> Sealer:
    seal = sealer(request.app.state.settings)
    if seal is None or not request.app.state.settings.github_client_id:
        raise NotFound("sign-in (no GitHub OAuth client is configured)")
    return seal


def start_signin(request: Request, next_path: str) -> Response:
    """302 to GitHub's authorize page, the state kept in a sealed cookie."""
    settings = request.app.state.settings
    seal = _sealer(request)
    state = secrets.token_urlsafe(32)
    now = request.app.state.clock().timestamp()
    answer = RedirectResponse(
        authorize_url(settings, state, redirect_uri(request)), status_code=302
    )
    cookie = seal.seal({"state": state, "next": safe_next(next_path)}, now)
    set_cookie(
        answer, STATE_COOKIE, cookie, STATE_SECONDS, secure_cookies(settings, request.url.scheme)
    )
    return answer


class LoginQuery(Query):
    next: Annotated[
        str | None, Field(description="A path of this service to return to afterwards.")
    ] = None


NO_CLIENT = error(404, "No GitHub OAuth client (GITHUB_CLIENT_ID) is configured.")


@api.get(
    "/login",
    summary="Sign in with GitHub: a 302 to GitHub's authorize page",
    query=LoginQuery,
    guard=_require_client,
    answers=[Answer(302, "To GitHub, the sign-in's state in a sealed cookie."), NO_CLIENT],
)
async def login(request: Request, query: LoginQuery) -> Response:
    return start_signin(request, query.next or "/")


class OAuthCallbackQuery(Query):
    code: Annotated[str | None, Field(description="GitHub's one-time code.")] = None
    state: Annotated[str | None, Field(description="The value /login sent.")] = None
    error: Annotated[str | None, Field(description="Why GitHub did not sign you in.")] = None


@api.get(
    CALLBACK_PATH,
    summary="GitHub's redirect after sign-in: sets the session cookie",
    query=OAuthCallbackQuery,
    guard=_require_client,
    answers=[
        Answer(302, "Signed in; back to where the sign-in started."),
        error(400, "A missing code or state."),
        error(403, "A state that is not this browser's, or a sign-in GitHub refused."),
        NO_CLIENT,
        error(502, "GitHub did not answer."),
    ],
)
async def callback(request: Request, query: OAuthCallbackQuery) -> Response:
    state = request.app.state
    settings = state.settings
    seal = _sealer(request)
    if query.error:  # the person declined, say
        raise ApiError(403, f"GitHub did not sign you in: {query.error[:100]}")
    code, given = query.code or "", query.state or ""
    if not code or not given:
        missing = {k: "is required" for k, v in (("code", code), ("state", given)) if not v}
        detail = "invalid query: " + "; ".join(f"{k}: {v}" for k, v in missing.items())
        raise ValidationError(missing, detail=detail)
    now = state.clock().timestamp()
    kept = seal.open(request.cookies.get(STATE_COOKIE, ""), STATE_SECONDS, now) or {}
    expected = kept.get("state")
    if not isinstance(expected, str) or not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(
            403, "the sign-in state does not match this browser's; start again at /login"
        )
    try:
        grant = await exchange_code(settings, code, redirect_uri(request))
        person = await signed_in(settings, grant.token)
    except GitHubRefused as exc:
        raise ApiError(
            403, f"GitHub did not accept the sign-in ({exc}); start again at /login"
        ) from None
    except GitHubUnreachable as exc:
        raise ApiError(502, str(exc)) from None
    lifetime = min(grant.expires_in or SESSION_SECONDS, SESSION_SECONDS)
    session = Session(person.id, person.login, grant.token, int(now) + lifetime)
    # Asked afresh: the person may have been given access just now.
    state.repositories.forget(person.id)
    log.info("signed in with GitHub", extra={"login": person.login})
    secure = secure_cookies(settings, request.url.scheme)
    answer = RedirectResponse(safe_next(kept.get("next")), status_code=302)
    set_cookie(answer, SESSION_COOKIE, seal.seal(session_value(session), now), lifetime, secure)
    clear_cookie(answer, STATE_COOKIE, secure)
    return answer


SIGNED_OUT = Answer(200, "A page saying so; the session cookie is removed.", media=(HTML,))


@api.post("/logout", summary="Sign out", answers=[SIGNED_OUT])
async def logout(request: Request) -> Response:
    settings = request.app.state.settings
    seal = sealer(settings)
    if seal is not None:
        now = request.app.state.clock().timestamp()
        session = open_session(seal, request.cookies.get(SESSION_COOKIE), now)
        if session is not None:
            request.app.state.repositories.forget(session.github_id)
    answer = HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>Signed out</title>"
        '<p>You are signed out of Reviewer. <a href="/login">Sign in again</a></p>'
    )
    clear_cookie(answer, SESSION_COOKIE, secure_cookies(settings, request.url.scheme))
    return answer


@api.get("/logout", summary="Sign out (a link)", answers=[SIGNED_OUT])
async def logout_link(request: Request) -> Response:
    return await logout(request)
