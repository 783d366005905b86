"""/healthz (the process runs) and /readyz (the database answers)."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from starlette.requests import Request

from bot.api.declare import Answer, Api, Reply
from bot.api.models import Readiness, Status

log = logging.getLogger(__name__)
api = Api("ops")


@api.get(
    "/healthz",
    summary="Liveness: 200 while the process runs",
    answers=[Answer(200, "Running.", Status)],
)
async def healthz(request: Request) -> dict:
    return {"status": "ok"}


@api.get(
    "/readyz",
    summary="Readiness: 200 when the database answers",
    answers=[
        Answer(200, "The database answers.", Readiness),
        Answer(503, "The database is down.", Readiness),
    ],
)
async def readyz(request: Request) -> Reply:
    try:
        await request.app.state.db.fetch_val(sa.text("SELECT 1"))
    except Exception as exc:
        log.warning("database not ready", extra={"error": repr(exc)})
        return Reply(
            {"status": "unavailable", "detail": "the database does not answer"}, status=503
        )
    return Reply({"status": "ok", "database": request.app.state.db.backend})
