"""/v1/users: list, get (with details), update metadata, delete."""

from __future__ import annotations

from starlette.requests import Request

from bot.api.access import READ, Reader
from bot.api.declare import (
    BAD_BODY,
    BAD_QUERY,
    BEARER,
    NOT_FOUND,
    TOO_LARGE,
    Answer,
    Api,
    IdPath,
    Link,
    Reply,
)
from bot.api.errors import NotFound
from bot.api.models import Details, Paging, User, UserDetails, UserPatch
from bot.api.paging import PAGED, page_of, paging_headers
from bot.store import users as store

api = Api("users")
# The first item of a page, for clients (and schemathesis) to follow.
FIRST = {"GetFirst": Link("get_user", {"id": "$response.body#/0/id"})}


@api.get(
    "/v1/users",
    summary="List users",
    query=Paging,
    auth=READ,
    answers=[Answer(200, "Users, by id.", list[User], headers=PAGED, links=FIRST), BAD_QUERY],
)
async def list_users(request: Request, query: Paging, auth: Reader) -> Reply:
    page = page_of(query)
    total, rows = await store.list_users(request.app.state.db, page.offset, page.size, auth.visible)
    return Reply(rows, headers=paging_headers(request, page, total))


@api.get(
    "/v1/users/{id}",
    summary="Get a user, with details on request",
    query=Details,
    auth=READ,
    answers=[
        Answer(200, "The user; with `details=true`, the details lists.", UserDetails | User),
        BAD_QUERY,
        NOT_FOUND,
    ],
)
async def get_user(request: Request, path: IdPath, query: Details, auth: Reader) -> Reply:
    db = request.app.state.db
    seen = auth.visible
    row = await store.get_user(db, path.id, seen)
    if row is None:
        raise NotFound("user")
    if not query.details:
        return Reply(row, shape=User)
    details = {
        f"{kind}_pull_requests": await store.details_pull_requests(db, kind, path.id, seen)
        for kind in store.DETAILS_KINDS
    }
    return Reply({**row, **details}, shape=UserDetails)


@api.patch(
    "/v1/users/{id}",
    summary="Merge metadata into a user's",
    body=UserPatch,
    auth=BEARER,
    answers=[Answer(204, "Done; no body."), BAD_BODY, NOT_FOUND, TOO_LARGE],
)
async def update_user(request: Request, path: IdPath, body: UserPatch) -> None:
    if not await store.update_metadata(request.app.state.db, path.id, body.metadata):
        raise NotFound("user")


@api.delete(
    "/v1/users/{id}",
    summary="Delete a user",
    auth=BEARER,
    answers=[Answer(204, "Done; no body."), NOT_FOUND],
)
async def delete_user(request: Request, path: IdPath) -> None:
    if not await store.delete_user(request.app.state.db, path.id):
        raise NotFound("user")
