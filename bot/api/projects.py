"""/v1/projects: list, get, create, delete."""

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
    error,
)
from bot.api.errors import ApiError, NotFound
from bot.api.models import CursorPaging, NewProject, Project
from bot.api.paging import CURSOR_PAGED, ListPage
from bot.store import projects as store

api = Api("projects")
# The first item of a page, for clients (and schemathesis) to follow.
FIRST = {"GetFirst": Link("get_project", {"id": "$response.body#/0/id"})}
BY_ID = {"id": "$response.body#/id"}


@api.get(
    "/v1/projects",
    summary="List projects",
    query=CursorPaging,
    auth=READ,
    answers=[
        Answer(200, "Projects, by id.", list[Project], headers=CURSOR_PAGED, links=FIRST),
        BAD_QUERY,
    ],
)
async def list_projects(request: Request, query: CursorPaging, auth: Reader) -> Reply:
    page = await ListPage.of(request, query)
    total, rows = await store.list_projects(request.app.state.db, page.window, auth.visible)
    return page.reply(request, total, rows)


@api.get(
    "/v1/projects/{id}",
    summary="Get a project",
    auth=READ,
    answers=[Answer(200, "The project.", Project), NOT_FOUND],
)
async def get_project(request: Request, path: IdPath, auth: Reader) -> dict:
    row = await store.get_project(request.app.state.db, path.id, auth.visible)
    if row is None:
        raise NotFound("project")
    return row


@api.post(
    "/v1/projects",
    summary="Create a project",
    body=NewProject,
    auth=BEARER,
    answers=[
        Answer(
            201,
            "Created.",
            Project,
            links={
                "GetProject": Link("get_project", BY_ID),
                "DeleteProject": Link("delete_project", BY_ID),
            },
        ),
        BAD_BODY,
        error(409, "The repository is already a project."),
        TOO_LARGE,
    ],
)
async def create_project(request: Request, body: NewProject) -> dict:
    row = await store.create_project(
        request.app.state.db, body.name, body.repo_owner, body.repo_name
    )
    if row is None:
        raise ApiError(409, f"{body.repo_owner}/{body.repo_name} is already a project")
    return row


@api.delete(
    "/v1/projects/{id}",
    summary="Delete a project with its pull requests, reviews and review requests",
    auth=BEARER,
    answers=[Answer(204, "Done; no body."), NOT_FOUND],
)
async def delete_project(request: Request, path: IdPath) -> None:
    if not await store.delete_project(request.app.state.db, path.id):
        raise NotFound("project")
