"""`/approval?token=`: an approver's personal page. GET shows, POST decides.

GET never changes anything: link previewers and mail scanners open links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.api.declare import FORM, JSON, Answer, Api, Auth, Reply, error
from bot.api.errors import ApiError, ValidationError
from bot.api.fields import refuse
from bot.releases import decisions
from bot.releases.callback_sender import deliver_due
from bot.releases.pages import HEADERS, approval_page, error_page
from bot.releases.policy import DECISIONS, Verdict, as_of, token_ttl
from bot.releases.slack_sync import update_messages
from bot.releases.tokens import token_hash
from bot.releases.views import Approval, approval_json
from bot.store import releases as store

api = Api("releases")
MAX_BODY_BYTES = 10_000
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


async def approver_of(request: Request) -> dict:
    """The approver holding the request's token: 401 without one, 404 for an unknown one."""
    token = request.query_params.get("token", "").strip()
    if not token:
        raise ApiError(401, "an approval token is required: /approval?token=…")
    approver = await store.approver_by_token_hash(request.app.state.db, token_hash(token))
    if approver is None:
        raise ApiError(404, "approval token not found")
    return approver


APPROVAL = Auth(
    "approvalToken",
    {
        "type": "apiKey",
        "in": "query",
        "name": "token",
        "description": "The approver's personal token, from the approval link.",
    },
    [error(401, "No token."), error(404, "Unknown token.")],
    approver_of,
)


# A reason fits GitHub's 1024-character comment with our words around it.
MAX_COMMENT = 900
# Control characters but tab and line breaks, which a reason may hold.
COMMENT_CONTROL = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f"
_COMMENT_CONTROL_RE = re.compile(f"[{COMMENT_CONTROL}]")


@dataclass(frozen=True)
class Reason:
    """A comment: text of at most MAX_COMMENT characters, line breaks allowed, other
    control characters not; stored without surrounding spaces (blank: none)."""

    def check(self, value: str) -> str | None:
        if _COMMENT_CONTROL_RE.search(value):
            raise refuse("must not contain control characters")
        if len(value) > MAX_COMMENT:
            raise refuse(f"must be at most {MAX_COMMENT} characters")
        return value.strip() or None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(
            self.check, core_schema.str_schema(strict=True)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "string", "maxLength": MAX_COMMENT, "pattern": f"^[^{COMMENT_CONTROL}]*$"}


Verb = Literal["approve", "reject"]


class Decision(BaseModel):
    """An approver's decision and reason, from the query string, a JSON body or the
    page's form; each may come in more than one of them, never differently."""

    # Browsers' forms carry other fields, the query the token: they are ignored.
    model_config = ConfigDict(extra="ignore")

    decision: Annotated[
        Verb | None, Field(description="approve or reject; nothing anywhere means approve.")
    ] = None
    comment: Annotated[
        Annotated[str, Reason()] | None,
        Field(description="The reason: shown in the audit, passed on to the CD system."),
    ] = None


def one_of(request: Request, name: str, query: Decision, body: Decision) -> Any:
    """The one value of `name` given in the query and the body; 400 when they differ."""
    given = {v for v in request.query_params.getlist(name)}
    found = [v for v in (getattr(query, name), getattr(body, name)) if v is not None]
    if len(given) > 1 or len(set(found)) > 1:
        message = "given more than once with different values"
        raise ValidationError({name: message}, detail=f"{name} is {message}")
    return found[0] if found else None


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


def html_error(request: Request, exc: ApiError) -> Response | None:
    """A browser gets errors as a page; everyone else gets the usual JSON."""
    if not wants_html(request):
        return None
    return HTMLResponse(error_page(exc.detail), status_code=exc.status, headers=HEADERS)


def gone() -> ApiError:
    return ApiError(410, "this approval link has expired")


def answer(request: Request, view: Approval, notice: str | None = None) -> Response | Reply:
    if wants_html(request):
        return HTMLResponse(approval_page(view, notice), headers=HEADERS)
    return Reply(view, headers=NO_STORE)


SHOWN = Answer(
    200,
    "JSON, or a page with Approve/Reject buttons for browsers.",
    Approval,
    media=("text/html",),
)
GONE = error(410, "Expired token.")


@api.get(
    "/approval",
    summary="The release, the approver and the status; changes nothing",
    auth=APPROVAL,
    error_page=html_error,
    answers=[SHOWN, GONE],
)
async def show_approval(request: Request, auth: dict) -> Response | Reply:
    state = request.app.state
    now = state.clock()
    if auth["expires_at"] <= now:
        raise gone()
    release = await store.get_release(state.db, auth["release_id"])
    assert release is not None
    approvers = await store.approvers_of(state.db, release["id"])
    # The status as of now, shown but not stored: this GET writes nothing.
    shown = as_of(release, approvers, now, token_ttl(state.settings))
    return answer(request, approval_json(shown, approvers, auth))


@api.post(
    "/approval",
    summary="Record this approver's decision (idempotent)",
    auth=APPROVAL,
    query=Decision,
    body=Decision,
    body_media=(JSON, FORM),
    body_required=False,
    max_body=MAX_BODY_BYTES,
    error_page=html_error,
    answers=[
        Answer(
            200,
            "Recorded (or recorded before, the same way): JSON, or the page for browsers.",
            Approval,
            media=("text/html",),
        ),
        error(
            400,
            "A decision other than approve or reject, a parameter given twice differently, "
            "or a body that is not JSON; nothing is recorded.",
        ),
        error(403, "The deployment's creator, deciding on their own deployment."),
        error(409, "The release is decided, or this approver decided otherwise."),
        GONE,
        error(413, f"Body over {MAX_BODY_BYTES} bytes."),
        error(415, "Neither JSON nor a form."),
    ],
)
async def decide(request: Request, auth: dict, query: Decision, body: Decision) -> Response | Reply:
    state = request.app.state
    verb = one_of(request, "decision", query, body) or "approve"
    comment = one_of(request, "comment", query, body)
    form = request.headers.get("content-type", "").split(";")[0].strip().lower() == FORM
    done = await decisions.decide(
        state.db,
        auth,
        DECISIONS[verb],
        "form" if form else "link",
        state.clock(),
        token_ttl(state.settings),
        comment,
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
        tasks = BackgroundTasks()
        tasks.add_task(update_messages, state, auth["release_id"])
        # The CD system's status report, or the decision, goes out after the answer.
        tasks.add_task(deliver_due, state, auth["release_id"])
        response.background = tasks
    return response
