"""Every error answers JSON `{"detail": ...}`, with `"errors"` added for an invalid body."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.store.availability import UNAVAILABLE_TYPES, database_unavailable

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Raised by a route to answer `status` with a JSON detail."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers


class ValidationError(ApiError):
    """A body that failed validation: 400 with a message per field."""

    def __init__(self, errors: dict[str, str], detail: str | None = None) -> None:
        detail = detail or "invalid body: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
        super().__init__(400, detail, errors)


class NotFound(ApiError):
    def __init__(self, what: str) -> None:
        super().__init__(404, f"{what} not found")


def error_response(
    status: int,
    detail: str,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict = {"detail": detail}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers)


async def api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.detail, exc.errors, exc.headers)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail), headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    log.error(
        "unhandled error", exc_info=exc, extra={"path": request.url.path, "method": request.method}
    )
    return error_response(500, "internal error")


# A client may retry this soon: the database was restarting or unreachable.
RETRY_AFTER_SECONDS = 5


async def unavailable_error(request: Request, exc: Exception) -> JSONResponse:
    """503 while the database is out of reach (a restart, a failover); else a bug (500)."""
    if not database_unavailable(exc):
        raise exc
    log.warning(
        "database unavailable",
        extra={"path": request.url.path, "method": request.method, "error": repr(exc)},
    )
    return error_response(
        503,
        "the database is unavailable; try again shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


EXCEPTION_HANDLERS: dict = {
    ApiError: api_error,
    HTTPException: http_error,
    **dict.fromkeys(UNAVAILABLE_TYPES, unavailable_error),
    Exception: server_error,
}
