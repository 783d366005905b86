"""/v1/pull_requests: list (filtered, paged) and get (with details). Read-only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.api.access import visible_to
from bot.api.errors import NotFound
from bot.api.paging import page_of, paging_headers
from bot.api.params import path_id, query_bool, query_choice, query_int
from bot.api.resources import pull_request_json
from bot.store import pull_requests as store


async def list_pull_requests(request: Request) -> JSONResponse:
    page = page_of(request)
    total, rows = await store.list_pull_requests(
        request.app.state.db,
        page.offset,
        page.size,
        state=query_choice(request, "state", store.STATES, "open"),
        project_id=query_int(request, "project_id"),
        user_id=query_int(request, "user_id"),
        visible=visible_to(request),
    )
    return JSONResponse(
        [pull_request_json(r) for r in rows], headers=paging_headers(request, page, total)
    )


async def get_pull_request(request: Request) -> JSONResponse:
    db = request.app.state.db
    details = query_bool(request, "details")
    row = await store.get_pull_request(db, path_id(request), visible_to(request))
    if row is None:
        raise NotFound("pull request")
    body = pull_request_json(row)
    if details:
        body.update(await store.pull_request_people(db, row["id"]))
    return JSONResponse(body)


routes = [
    Route("/v1/pull_requests", list_pull_requests, methods=["GET"]),
    Route("/v1/pull_requests/{id}", get_pull_request, methods=["GET"]),
]
