"""`POST /release` for pipelines; `GET /v1/releases[/{id}]`, the audit of every decision."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.requests import Request

from bot.api.declare import (
    BAD_BODY,
    BAD_QUERY,
    BEARER,
    NOT_FOUND,
    TOO_LARGE,
    Answer,
    Api,
    Header,
    IdPath,
    Link,
    Reply,
)
from bot.api.errors import NotFound
from bot.api.models import NewRelease, Paging
from bot.api.paging import PAGED, page_of, paging_headers
from bot.releases import decisions
from bot.releases.policy import as_of, token_ttl
from bot.releases.views import Release, ReleaseStatus, audit_json, release_json
from bot.releases.work import process_release
from bot.store import releases as store

api = Api("releases")
LOCATION = {"Location": Header("The release's audit: /v1/releases/{id}.")}
AUDIT = {"GetRelease": Link("get_release", {"id": "$response.body#/id"})}


@api.post(
    "/release",
    summary="Ask whether a release may go to production (create it on first call)",
    body=NewRelease,
    auth=BEARER,
    answers=[
        Answer(200, "Known release: its status.", ReleaseStatus, headers=LOCATION, links=AUDIT),
        Answer(
            202,
            "New release: stored; approvers notified after.",
            ReleaseStatus,
            headers=LOCATION,
            links=AUDIT,
        ),
        BAD_BODY,
        TOO_LARGE,
    ],
)
async def post_release(request: Request, body: NewRelease) -> Reply:
    """202 for a new release (stored before the answer; approvers are fetched and notified
    after it), 200 with the status for one already known."""
    state = request.app.state
    now = state.clock()
    release, created = await store.create_release(
        state.db, body.TeamProject, body.ReleaseId, body.ReleaseName, now
    )
    headers = {"Location": f"/v1/releases/{release['id']}"}
    if created:
        return Reply(
            release_json(release, []),
            status=202,
            headers=headers,
            background=BackgroundTask(process_release, state, release["id"]),
        )
    found = await decisions.current(state.db, release, now, token_ttl(state.settings))
    return Reply(release_json(found.release, found.approvers), headers=headers)


# GETs show the status as of now and store nothing; POST /release and the job store it.


@api.get(
    "/v1/releases",
    summary="List releases with every approver's decision",
    query=Paging,
    answers=[Answer(200, "Releases, newest first.", list[Release], headers=PAGED), BAD_QUERY],
)
async def list_releases(request: Request, query: Paging) -> Reply:
    state = request.app.state
    now = state.clock()
    ttl = token_ttl(state.settings)
    page = page_of(query)
    total, rows = await store.list_releases(state.db, page.offset, page.size)
    grouped = await store.approvers_by_release(state.db, [r["id"] for r in rows])
    body = [
        audit_json(as_of(row, grouped[row["id"]], now, ttl), grouped[row["id"]]) for row in rows
    ]
    return Reply(body, headers=paging_headers(request, page, total))


@api.get(
    "/v1/releases/{id}",
    summary="Get a release with every approver's decision",
    answers=[Answer(200, "The release.", Release), NOT_FOUND],
)
async def get_release(request: Request, path: IdPath) -> Release:
    state = request.app.state
    release = await store.get_release(state.db, path.id)
    if release is None:
        raise NotFound("release")
    approvers = await store.approvers_of(state.db, release["id"])
    shown = as_of(release, approvers, state.clock(), token_ttl(state.settings))
    return audit_json(shown, approvers)
