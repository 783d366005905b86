"""`POST /release` for pipelines; `GET /v1/releases[/{id}]`, the audit of every decision."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.api.access import visible_to
from bot.api.auth import require_token
from bot.api.conditional import changes_at
from bot.api.errors import NotFound
from bot.api.paging import page_of, paging_headers
from bot.api.params import json_object, path_id, required_strings
from bot.releases import decisions
from bot.releases.policy import as_of, next_change, token_ttl
from bot.releases.views import audit_json, release_json
from bot.releases.work import process_release
from bot.store import releases as store

FIELDS = ("ReleaseName", "ReleaseId", "TeamProject")


async def post_release(request: Request) -> JSONResponse:
    """202 for a new release (stored before the answer; approvers are fetched and notified
    after it), 200 with the status for one already known."""
    require_token(request)
    # required_strings refuses control characters too (a NUL PostgreSQL cannot store,
    # a line break that would break the mail's Subject).
    values = required_strings(await json_object(request), *FIELDS)
    state = request.app.state
    now = state.clock()
    release, created = await store.create_release(
        state.db, values["TeamProject"], values["ReleaseId"], values["ReleaseName"], now
    )
    headers = {"Location": f"/v1/releases/{release['id']}"}
    if created:
        return JSONResponse(
            release_json(release, []),
            status_code=202,
            headers=headers,
            background=BackgroundTask(process_release, state, release["id"]),
        )
    found = await decisions.current(state.db, release, now, token_ttl(state.settings))
    return JSONResponse(release_json(found.release, found.approvers), headers=headers)


# GETs show the status as of now and store nothing; POST /release and the job store it.


async def list_releases(request: Request) -> JSONResponse:
    state = request.app.state
    now = state.clock()
    ttl = token_ttl(state.settings)
    page = page_of(request)
    total, rows = await store.list_releases(state.db, page.offset, page.size, visible_to(request))
    grouped = await store.approvers_by_release(state.db, [r["id"] for r in rows])
    body = [
        audit_json(as_of(row, grouped[row["id"]], now, ttl), grouped[row["id"]]) for row in rows
    ]
    for row in rows:
        changes_at(request, next_change(row, grouped[row["id"]], now, ttl))
    return JSONResponse(body, headers=paging_headers(request, page, total))


async def get_release(request: Request) -> JSONResponse:
    state = request.app.state
    release = await store.get_release(state.db, path_id(request), visible_to(request))
    if release is None:
        raise NotFound("release")
    approvers = await store.approvers_of(state.db, release["id"])
    now, ttl = state.clock(), token_ttl(state.settings)
    shown = as_of(release, approvers, now, ttl)
    changes_at(request, next_change(release, approvers, now, ttl))
    return JSONResponse(audit_json(shown, approvers))


routes = [
    Route("/release", post_release, methods=["POST"]),
    Route("/v1/releases", list_releases, methods=["GET"]),
    Route("/v1/releases/{id}", get_release, methods=["GET"]),
]
