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
    Header,
    IdPath,
    Link,
    Reply,
)
from bot.api.errors import NotFound
from bot.api.models import CursorPaging, User, UserDetails, UserDetailsQuery, UserPatch
from bot.api.paging import CURSOR_PAGED, ListPage
from bot.store import users as store

api = Api("users")
# The first item of a page, for clients (and schemathesis) to follow.
FIRST = {"GetFirst": Link("get_user", {"id": "$response.body#/0/id"})}


@api.get(
    "/v1/users",
    summary="List users",
    query=CursorPaging,
    auth=READ,
    answers=[
        Answer(200, "Users, by id.", list[User], headers=CURSOR_PAGED, links=FIRST),
        BAD_QUERY,
    ],
)
async def list_users(request: Request, query: CursorPaging, auth: Reader) -> Reply:
    page = await ListPage.of(request, query)
    total, rows = await store.list_users(request.app.state.db, page.window, auth.visible)
    return page.reply(request, total, rows)


# A user's details go on through cursors in `Link` (README, "Who counts as what").
DETAILS_PAGED = {
    "Link": Header(
        'With `details=true`, while a list is full: rel="next", this request with a cursor '
        "per list (`approved_before`, `commented_before`, `idled_before`): each full list "
        "goes on below its smallest id here, one that was not full is over (1)."
    )
}


@api.get(
    "/v1/users/{id}",
    summary="Get a user, with details on request",
    query=UserDetailsQuery,
    auth=READ,
    answers=[
        Answer(
            200,
            "The user; with `details=true`, the details lists: each the newest "
            f"{store.DETAILS_LIMIT} pull requests of its kind (below its cursor), in id order.",
            UserDetails | User,
            headers=DETAILS_PAGED,
        ),
        BAD_QUERY,
        NOT_FOUND,
    ],
)
async def get_user(request: Request, path: IdPath, query: UserDetailsQuery, auth: Reader) -> Reply:
    db = request.app.state.db
    seen = auth.visible
    row = await store.get_user(db, path.id, seen)
    if row is None:
        raise NotFound("user")
    if not query.details:
        return Reply(row, shape=User)
    lists = {
        kind: await store.details_pull_requests(db, kind, path.id, seen, query.cursor(kind))
        for kind in store.DETAILS_KINDS
    }
    details = {f"{kind}_pull_requests": rows for kind, rows in lists.items()}
    return Reply({**row, **details}, shape=UserDetails, headers=next_details(request, lists))


def next_details(request: Request, lists: dict[str, list[dict]]) -> dict[str, str]:
    """`Link: rel="next"` while a list is full: each list goes on below its own smallest id.

    One cursor per list, not one for all: a single `before` would either skip the items
    of one list or show another's again (their pages end at different ids). A list that
    was not full is over: its cursor is 1, below every id.
    """
    limit = store.DETAILS_LIMIT  # read now: tests page with a small one
    if all(len(rows) < limit for rows in lists.values()):
        return {}
    cursors = {
        f"{kind}_before": rows[0]["id"] if len(rows) >= limit else 1 for kind, rows in lists.items()
    }
    url = request.url.remove_query_params("before").include_query_params(**cursors)
    return {"Link": f'<{url}>; rel="next"'}


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
