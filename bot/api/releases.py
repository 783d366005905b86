"""`POST /release` for pipelines; `GET /v1/releases[/{id}]`, the audit of every decision."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.requests import Request

from bot.api.access import READ, Reader
from bot.api.conditional import changes_at, data_version_of
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
from bot.releases import decisions, intake
from bot.releases.azure import HEADERS as AZURE_HEADERS
from bot.releases.azure import azure_check
from bot.releases.callback_sender import deliver_due
from bot.releases.callbacks import calls_back
from bot.releases.policy import as_of, next_change, token_ttl
from bot.releases.views import Release, ReleaseStatus, audit_json, release_json
from bot.releases.work import process_release
from bot.store import release_callbacks
from bot.store import releases as store

api = Api("releases")
# The first item of a page, for clients (and schemathesis) to follow.
FIRST = {"GetFirst": Link("get_release", {"id": "$response.body#/0/id"})}
LOCATION = {"Location": Header("The release's audit: /v1/releases/{id}.")}
AUDIT = {"GetRelease": Link("get_release", {"id": "$response.body#/id"})}


@api.post(
    "/release",
    summary="Ask whether a release may go to production (create it on first call)",
    description=(
        "An Azure DevOps Invoke REST API check in callback mode also sends the headers "
        + ", ".join(f"`{name}`" for name in AZURE_HEADERS)
        + " (all of them, or none): the release then waits on the check, and its decision "
        "is posted to the plan's events endpoint with the check's `AuthToken`, which is "
        "kept only until then. Some of them only, or a malformed one, is 400 naming each."
    ),
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
    # Azure's check in callback mode sends where to post the decision as headers.
    check = azure_check(request.headers)
    state = request.app.state
    now = state.clock()
    names = (body.TeamProject, body.ReleaseId, body.ReleaseName)
    if check is None:
        release, created = await store.create_release(state.db, *names, now)
    else:
        release, created = await intake.open_azure_release(state.db, *names, check, now)
    headers = {"Location": f"/v1/releases/{release['id']}"}
    if created:
        return Reply(
            release_json(release, []),
            status=202,
            headers=headers,
            background=BackgroundTask(process_release, state, release["id"]),
        )
    found = await decisions.current(state.db, release, now, token_ttl(state.settings))
    # A poll may have decided it (an expiry), or a re-run check may be owed the answer.
    due = BackgroundTask(deliver_due, state, release["id"]) if calls_back(found.release) else None
    return Reply(release_json(found.release, found.approvers), headers=headers, background=due)


# GETs show the status as of now and store nothing; POST /release and the job store it.


@api.get(
    "/v1/releases",
    summary="List releases with every approver's decision",
    query=Paging,
    auth=READ,
    answers=[
        Answer(200, "Releases, newest first.", list[Release], headers=PAGED, links=FIRST),
        BAD_QUERY,
    ],
)
async def list_releases(request: Request, query: Paging, auth: Reader) -> Reply:
    state = request.app.state
    now = state.clock()
    ttl = token_ttl(state.settings)
    page = page_of(query)
    total, rows = await store.list_releases(
        state.db, page.offset, page.size, auth.visible, await data_version_of(request)
    )
    pks = [r["id"] for r in rows]
    grouped = await store.approvers_by_release(state.db, pks)
    sent = await release_callbacks.callbacks_by_release(state.db, pks)
    body = [
        audit_json(as_of(row, grouped[row["id"]], now, ttl), grouped[row["id"]], sent[row["id"]])
        for row in rows
    ]
    for row in rows:
        changes_at(request, next_change(row, grouped[row["id"]], now, ttl))
    return Reply(body, headers=paging_headers(request, page, total))


@api.get(
    "/v1/releases/{id}",
    summary="Get a release with every approver's decision",
    auth=READ,
    answers=[Answer(200, "The release.", Release), NOT_FOUND],
)
async def get_release(request: Request, path: IdPath, auth: Reader) -> Release:
    state = request.app.state
    release = await store.get_release(state.db, path.id, auth.visible)
    if release is None:
        raise NotFound("release")
    approvers = await store.approvers_of(state.db, release["id"])
    sent = await release_callbacks.callbacks_by_release(state.db, [release["id"]])
    now, ttl = state.clock(), token_ttl(state.settings)
    shown = as_of(release, approvers, now, ttl)
    changes_at(request, next_change(release, approvers, now, ttl))
    return audit_json(shown, approvers, sent[release["id"]])
