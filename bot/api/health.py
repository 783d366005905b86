"""/healthz (the process runs) and /readyz (the database answers)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

log = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    try:
        await request.app.state.db.fetch_val(sa.text("SELECT 1"))
    except Exception as exc:
        log.warning("database not ready", extra={"error": repr(exc)})
        return JSONResponse(
            {"status": "unavailable", "detail": "the database does not answer"}, status_code=503
        )
    return JSONResponse({"status": "ok", "database": request.app.state.db.backend})


routes = [Route("/healthz", healthz, methods=["GET"]), Route("/readyz", readyz, methods=["GET"])]
