"""`POST /release` for pipelines; `GET /v1/releases[/{id}]`, the audit of every decision."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.api.auth import require_token
from bot.api.errors import NotFound
from bot.api.paging import page_of, paging_headers
from bot.api.params import json_object, path_id, required_strings
from bot.releases import decisions, intake
from bot.releases.azure import azure_check
from bot.releases.callback_sender import deliver_due
from bot.releases.callbacks import calls_back
from bot.releases.policy import as_of, token_ttl
from bot.releases.views import audit_json, release_json
from bot.releases.work import process_release
from bot.store import release_callbacks
from bot.store import releases as store

FIELDS = ("ReleaseName", "ReleaseId", "TeamProject")


async def post_release(request: Request) -> JSONResponse:
    """202 for a new release (stored before the answer; approvers are fetched and notified
    after it), 200 with the status for one already known."""
    require_token(request)
    # required_strings refuses control characters too (a NUL PostgreSQL cannot store,
    # a line break that would break the mail's Subject).
    values = required_strings(await json_object(request), *FIELDS)
    # Azure's check in callback mode sends where to post the decision as headers.
    check = azure_check(request.headers)
    state = request.app.state
    now = state.clock()
    names = (values["TeamProject"], values["ReleaseId"], values["ReleaseName"])
    if check is None:
        release, created = await store.create_release(state.db, *names, now)
    else:
        release, created = await intake.open_azure_release(state.db, *names, check, now)
    headers = {"Location": f"/v1/releases/{release['id']}"}
    if created:
        return JSONResponse(
            release_json(release, []),
            status_code=202,
            headers=headers,
            background=BackgroundTask(process_release, state, release["id"]),
        )
    found = await decisions.current(state.db, release, now, token_ttl(state.settings))
    # A poll may have decided it (an expiry), or a re-run check may be owed the answer.
    due = BackgroundTask(deliver_due, state, release["id"]) if calls_back(found.release) else None
    return JSONResponse(
        release_json(found.release, found.approvers), headers=headers, background=due
    )


# GETs show the status as of now and store nothing; POST /release and the job store it.


async def list_releases(request: Request) -> JSONResponse:
    state = request.app.state
    now = state.clock()
    ttl = token_ttl(state.settings)
    page = page_of(request)
    total, rows = await store.list_releases(state.db, page.offset, page.size)
    pks = [r["id"] for r in rows]
    grouped = await store.approvers_by_release(state.db, pks)
    sent = await release_callbacks.callbacks_by_release(state.db, pks)
    body = [
        audit_json(as_of(row, grouped[row["id"]], now, ttl), grouped[row["id"]], sent[row["id"]])
        for row in rows
    ]
    return JSONResponse(body, headers=paging_headers(request, page, total))


async def get_release(request: Request) -> JSONResponse:
    state = request.app.state
    release = await store.get_release(state.db, path_id(request))
    if release is None:
        raise NotFound("release")
    approvers = await store.approvers_of(state.db, release["id"])
    sent = await release_callbacks.callbacks_by_release(state.db, [release["id"]])
    shown = as_of(release, approvers, state.clock(), token_ttl(state.settings))
    return JSONResponse(audit_json(shown, approvers, sent[release["id"]]))


routes = [
    Route("/release", post_release, methods=["POST"]),
    Route("/v1/releases", list_releases, methods=["GET"]),
    Route("/v1/releases/{id}", get_release, methods=["GET"]),
]
