"""/v1/pull_requests: list (filtered, paged) and get (with details). Read-only."""

from __future__ import annotations

from starlette.requests import Request

from bot.api.access import READ, Reader
from bot.api.declare import BAD_QUERY, NOT_FOUND, Answer, Api, IdPath, Link, Reply
from bot.api.errors import NotFound
from bot.api.models import Details, PullRequest, PullRequestDetails, PullRequestFilter
from bot.api.paging import CURSOR_PAGED, ListPage
from bot.store import pull_requests as store

api = Api("pull requests")
# The first item of a page, for clients (and schemathesis) to follow.
FIRST = {"GetFirst": Link("get_pull_request", {"id": "$response.body#/0/id"})}


@api.get(
    "/v1/pull_requests",
    summary="List pull requests",
    query=PullRequestFilter,
    auth=READ,
    answers=[
        Answer(200, "Pull requests, by id.", list[PullRequest], headers=CURSOR_PAGED, links=FIRST),
        BAD_QUERY,
    ],
)
async def list_pull_requests(request: Request, query: PullRequestFilter, auth: Reader) -> Reply:
    page = await ListPage.of(request, query)
    total, rows = await store.list_pull_requests(
        request.app.state.db,
        page.window,
        state=query.state,
        project_id=query.project_id,
        user_id=query.user_id,
        visible=auth.visible,
    )
    return page.reply(request, total, rows)


@api.get(
    "/v1/pull_requests/{id}",
    summary="Get a pull request, with details on request",
    query=Details,
    auth=READ,
    answers=[
        Answer(
            200,
            "The pull request; with `details=true`, the people on it.",
            PullRequestDetails | PullRequest,
        ),
        BAD_QUERY,
        NOT_FOUND,
    ],
)
async def get_pull_request(request: Request, path: IdPath, query: Details, auth: Reader) -> Reply:
    db = request.app.state.db
    row = await store.get_pull_request(db, path.id, auth.visible)
    if row is None:
        raise NotFound("pull request")
    if not query.details:
        return Reply(row, shape=PullRequest)
    people = await store.pull_request_people(db, row["id"])
    return Reply({**row, **people}, shape=PullRequestDetails)
