"""/v1/users: list, get (with details), update metadata, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.api.auth import require_token
from bot.api.errors import NotFound, ValidationError
from bot.api.paging import page_of, paging_headers
from bot.api.params import json_object, path_id, query_bool, reject_unknown
from bot.api.resources import pull_request_json, user_json
from bot.reminders.people import metadata_errors
from bot.store import users as store


async def list_users(request: Request) -> JSONResponse:
    page = page_of(request)
    total, rows = await store.list_users(request.app.state.db, page.offset, page.size)
    return JSONResponse([user_json(r) for r in rows], headers=paging_headers(request, page, total))


async def get_user(request: Request) -> JSONResponse:
    db = request.app.state.db
    user_id = path_id(request)
    details = query_bool(request, "details")
    row = await store.get_user(db, user_id)
    if row is None:
        raise NotFound("user")
    body = user_json(row)
    if details:
        approved = await store.approved_pull_requests(db, user_id)
        commented = await store.commented_pull_requests(db, user_id)
        idled = await store.idled_pull_requests(db, user_id)
        body["approved_pull_requests"] = [pull_request_json(r) for r in approved]
        body["commented_pull_requests"] = [pull_request_json(r) for r in commented]
        body["idled_pull_requests"] = [pull_request_json(r) for r in idled]
    return JSONResponse(body)


async def update_user(request: Request) -> Response:
    require_token(request)
    user_id = path_id(request)
    body = await json_object(request)
    reject_unknown(body, ("metadata",))
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        raise ValidationError({"metadata": "is required and must be an object"})
    if not all(isinstance(key, str) and key for key in metadata):
        raise ValidationError({"metadata": "keys must be non-empty strings"})
    # The reminders' keys (timezone, snooze_until, realtime) must mean something.
    errors = metadata_errors(metadata)
    if errors:
        raise ValidationError(errors)
    if not await store.update_metadata(request.app.state.db, user_id, metadata):
        raise NotFound("user")
    return Response(status_code=204)


async def delete_user(request: Request) -> Response:
    require_token(request)
    if not await store.delete_user(request.app.state.db, path_id(request)):
        raise NotFound("user")
    return Response(status_code=204)


routes = [
    Route("/v1/users", list_users, methods=["GET"]),
    Route("/v1/users/{id}", get_user, methods=["GET"]),
    Route("/v1/users/{id}", update_user, methods=["PATCH"]),
    Route("/v1/users/{id}", delete_user, methods=["DELETE"]),
]
