"""`/approval?token=`: an approver's personal page. GET shows, POST decides.

GET never changes anything: link previewers and mail scanners open links.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot.api.errors import ApiError, ValidationError
from bot.api.params import has_control_characters, json_object
from bot.releases import decisions
from bot.releases.callback_sender import deliver_due
from bot.releases.pages import HEADERS, approval_page, error_page
from bot.releases.policy import DECISIONS, Verdict, as_of, token_ttl
from bot.releases.slack_sync import update_messages
from bot.releases.tokens import token_hash
from bot.releases.views import approval_json
from bot.store import releases as store

MAX_BODY_BYTES = 10_000
# A reason fits GitHub's 1024-character comment with our words around it.
MAX_COMMENT_CHARS = 900


def wants_html(request: Request) -> bool:
    """True when the client prefers HTML to JSON (a browser), by the Accept header's q."""
    quality: dict[str, float] = {}
    for part in request.headers.get("accept", "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[media.lower()] = max(q, quality.get(media.lower(), 0.0))
    html = quality.get("text/html", 0.0)
    return html > 0 and html >= quality.get("application/json", 0.0)


async def approver_of(request: Request) -> dict:
    """The approver holding the request's token: 401 without one, 404 for an unknown one."""
    token = request.query_params.get("token", "").strip()
    if not token:
        raise ApiError(401, "an approval token is required: /approval?token=…")
    approver = await store.approver_by_token_hash(request.app.state.db, token_hash(token))
    if approver is None:
        raise ApiError(404, "approval token not found")
    return approver


def gone() -> ApiError:
    return ApiError(410, "this approval link has expired")


def answer(request: Request, view: dict, status: int = 200, notice: str | None = None) -> Response:
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    if wants_html(request):
        return HTMLResponse(approval_page(view, notice), status_code=status, headers=HEADERS)
    return JSONResponse(view, status_code=status, headers=headers)


def html_errors(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    """A browser gets errors as a page; everyone else gets the usual JSON."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            if not wants_html(request):
                raise
            return HTMLResponse(error_page(exc.detail), status_code=exc.status, headers=HEADERS)

    return wrapped


async def show(request: Request) -> Response:
    state = request.app.state
    approver = await approver_of(request)
    now = state.clock()
    if approver["expires_at"] <= now:
        raise gone()
    release = await store.get_release(state.db, approver["release_id"])
    assert release is not None
    approvers = await store.approvers_of(state.db, release["id"])
    # The status as of now, shown but not stored: this GET writes nothing.
    shown = as_of(release, approvers, now, token_ttl(state.settings))
    return answer(request, approval_json(shown, approvers, approver))


def _one(name: str, given: list[tuple[str, object]]) -> object | None:
    """The one value of `name` given anywhere; 400 when places disagree."""
    distinct = {json.dumps(value, sort_keys=True) for _, value in given}
    if len(distinct) > 1:
        where = ", ".join(sorted({place for place, _ in given}))
        raise ValidationError(
            {name: f"given more than once with different values ({where})"},
            detail=f"{name} is given more than once with different values ({where})",
        )
    return given[0][1] if given else None


def _comment(raw: object | None) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationError({"comment": "must be a string"})
    text = raw.strip()
    if len(text) > MAX_COMMENT_CHARS:
        raise ValidationError({"comment": f"must be at most {MAX_COMMENT_CHARS} characters"})
    # Line breaks and tabs are fine in a reason; other control characters are not.
    if has_control_characters(text.replace("\n", " ").replace("\r", " ").replace("\t", " ")):
        raise ValidationError({"comment": "must not contain control characters"})
    return text or None


async def read_body(request: Request) -> tuple[str, dict[str, list[object]]]:
    """("form"|"json"|"none", {name: values}) of the request body."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, "the body is too large")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not body.strip():
        return "none", {}
    if content_type == "application/x-www-form-urlencoded":
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return "form", {name: list(values) for name, values in form.items()}
    if content_type in ("application/json", ""):
        data = await json_object(request)
        return "json", {name: [value] for name, value in data.items() if value is not None}
    raise ApiError(415, "send JSON or a form (application/x-www-form-urlencoded)")


async def read_decision(request: Request) -> tuple[str, str | None, str]:
    """(decision, comment, channel) from the query string, a form or a JSON body.

    No `decision` anywhere is an approval; two different values, or one that is not
    approve/reject, are 400 (nothing is recorded). The channel is `form` for the
    page's form and `link` for anything else.
    """
    kind, body = await read_body(request)
    decisions_given: list[tuple[str, object]] = []
    comments_given: list[tuple[str, object]] = []
    for name, bucket in (("decision", decisions_given), ("comment", comments_given)):
        bucket += [("query", v) for v in request.query_params.getlist(name)]
        bucket += [(kind, v) for v in body.get(name, [])]
    raw = _one("decision", decisions_given)
    if raw is None:
        raw = "approve"
    if not isinstance(raw, str) or raw not in DECISIONS:
        raise ValidationError({"decision": "must be approve or reject"})
    comment = _comment(_one("comment", comments_given))
    return raw, comment, "form" if kind == "form" else "link"


async def decide(request: Request) -> Response:
    state = request.app.state
    approver = await approver_of(request)
    raw, comment, channel = await read_decision(request)
    decision = DECISIONS[raw]
    done = await decisions.decide(
        state.db, approver, decision, channel, state.clock(), token_ttl(state.settings), comment
    )
    if done.verdict is Verdict.GONE:
        raise gone()
    if done.verdict is Verdict.FORBIDDEN:
        raise ApiError(403, "the deployment's creator cannot decide on their own deployment")
    if done.verdict is Verdict.CONFLICT:
        mine = done.approver["decision"]
        detail = (
            f"you already {mine} this release"
            if mine
            else f"the release is already {done.current.status}"
        )
        raise ApiError(409, detail)
    view = approval_json(done.current.release, done.current.approvers, done.approver)
    response = answer(request, view, notice=f"Recorded: you {done.approver['decision']} it.")
    if done.verdict is Verdict.RECORD:
        response.background = BackgroundTasks()
        response.background.add_task(update_messages, state, approver["release_id"])
        # The CD system's status report, or the decision, goes out after the answer.
        response.background.add_task(deliver_due, state, approver["release_id"])
    return response


routes = [
    Route("/approval", html_errors(show), methods=["GET"]),
    Route("/approval", html_errors(decide), methods=["POST"]),
]
