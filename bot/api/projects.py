"""/v1/projects: list, get, create, delete."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.api.access import visible_to
from bot.api.auth import require_token
from bot.api.errors import ApiError, NotFound, ValidationError
from bot.api.paging import page_of, paging_headers
from bot.api.params import json_object, path_id, reject_unknown, required_strings
from bot.api.resources import project_json
from bot.store import projects as store

# GitHub's rules: owners are alphanumerics and hyphens, repositories add `.` and `_`.
OWNER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
REPO_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


async def list_projects(request: Request) -> JSONResponse:
    page = page_of(request)
    total, rows = await store.list_projects(
        request.app.state.db, page.offset, page.size, visible_to(request)
    )
    return JSONResponse(
        [project_json(r) for r in rows], headers=paging_headers(request, page, total)
    )


async def get_project(request: Request) -> JSONResponse:
    row = await store.get_project(request.app.state.db, path_id(request), visible_to(request))
    if row is None:
        raise NotFound("project")
    return JSONResponse(project_json(row))


async def create_project(request: Request) -> JSONResponse:
    require_token(request)
    body = await json_object(request)
    reject_unknown(body, ("name", "repo_owner", "repo_name"))
    fields = required_strings(body, "name", "repo_owner", "repo_name")
    errors = {}
    if not OWNER_RE.match(fields["repo_owner"]):
        errors["repo_owner"] = "is not a GitHub user or organisation name"
    if not REPO_RE.match(fields["repo_name"]) or fields["repo_name"] in (".", ".."):
        errors["repo_name"] = "is not a GitHub repository name"
    if errors:
        raise ValidationError(errors)
    row = await store.create_project(
        request.app.state.db, fields["name"], fields["repo_owner"], fields["repo_name"]
    )
    if row is None:
        raise ApiError(409, f"{fields['repo_owner']}/{fields['repo_name']} is already a project")
    return JSONResponse(project_json(row), status_code=201)


async def delete_project(request: Request) -> Response:
    require_token(request)
    if not await store.delete_project(request.app.state.db, path_id(request)):
        raise NotFound("project")
    return Response(status_code=204)


routes = [
    Route("/v1/projects", list_projects, methods=["GET"]),
    Route("/v1/projects", create_project, methods=["POST"]),
    Route("/v1/projects/{id}", get_project, methods=["GET"]),
    Route("/v1/projects/{id}", delete_project, methods=["DELETE"]),
]
