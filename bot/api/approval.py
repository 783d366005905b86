"""`/approval?token=`: an approver's personal page. GET shows, POST decides.

GET never changes anything: link previewers and mail scanners open links.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from pydantic import TypeAdapter
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.api.errors import ApiError, ValidationError
from bot.api.params import json_object
from bot.releases import decisions
from bot.releases.pages import HEADERS, approval_page, error_page
from bot.releases.policy import DECISIONS, Verdict, as_of, token_ttl
from bot.releases.slack_sync import update_messages
from bot.releases.tokens import token_hash
from bot.releases.views import Approval, approval_json
from bot.store import releases as store

MAX_BODY_BYTES = 10_000
APPROVAL = TypeAdapter(Approval)
JSON = "application/json"


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
    return Response(APPROVAL.dump_json(view), status_code=status, headers=headers, media_type=JSON)


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


async def read_decision(request: Request) -> tuple[str, str]:
    """`decision` from a JSON body or a form (`approve` when the body is empty), and the
    channel to record: `form` for the page's form, `link` for anything else."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(413, "the body is too large")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not body.strip():
        raw: object = "approve"
    elif content_type == "application/x-www-form-urlencoded":
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        raw = form.get("decision", ["approve"])[-1]
    elif content_type in ("application/json", ""):
        raw = (await json_object(request)).get("decision", "approve")
    else:
        raise ApiError(415, "send JSON or a form (application/x-www-form-urlencoded)")
    if not isinstance(raw, str) or raw not in DECISIONS:
        raise ValidationError({"decision": "must be approve or reject"})
    return raw, "form" if content_type == "application/x-www-form-urlencoded" else "link"


async def decide(request: Request) -> Response:
    state = request.app.state
    approver = await approver_of(request)
    raw, channel = await read_decision(request)
    decision = DECISIONS[raw]
    done = await decisions.decide(
        state.db, approver, decision, channel, state.clock(), token_ttl(state.settings)
    )
    if done.verdict is Verdict.GONE:
        raise gone()
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
        response.background = BackgroundTask(update_messages, state, approver["release_id"])
    return response


routes = [
    Route("/approval", html_errors(show), methods=["GET"]),
    Route("/approval", html_errors(decide), methods=["POST"]),
]
