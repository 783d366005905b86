"""`POST /github/webhooks`: verify a GitHub delivery, then apply it exactly once.

The delivery's GUID is claimed in the same transaction that applies it, so a
repeated GUID (GitHub retrying, or two copies at once) is acknowledged and not
applied again. A delivery that fails is rolled back, answered 5xx (4xx when the
payload itself is malformed) and recorded as failed with its reason; GitHub's
redelivery of that GUID applies it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from gidgethub import BadRequest, ValidationFailure
from gidgethub.sansio import Event
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.api.errors import ApiError, error_response
from bot.github.followups import AfterCommit
from bot.github.handlers import app_router, router
from bot.github.parse import PayloadError
from bot.logs import log_context
from bot.reminders import realtime
from bot.store import deliveries
from bot.store.availability import database_unavailable

log = logging.getLogger(__name__)

# GitHub caps payloads at 25 MB.
MAX_BODY_BYTES = 25 * 1024 * 1024
MAX_NAME_CHARS = 64  # webhook_deliveries.guid, .event and .action


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, or 413 as soon as it is known to exceed `limit` (never read whole)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"the body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def verified_event(request: Request) -> Event:
    """The delivery as a gidgethub Event, signature checked; ApiError when it is not one."""
    secret = request.app.state.settings.github_webhook_secret
    if not secret:
        raise ApiError(503, "webhooks are disabled: GITHUB_WEBHOOK_SECRET is not set")
    body = await read_body(request)
    headers = {name.lower(): value for name, value in request.headers.items()}
    signature = headers.get("x-hub-signature-256", "")
    if not signature:
        raise ApiError(401, "the X-Hub-Signature-256 header is missing")
    # gidgethub would also take "sha1=..." here, and fails with a TypeError (a 500)
    # on a non-ASCII value: only an ASCII SHA-256 signature goes on to be checked.
    if not (signature.startswith("sha256=") and signature.isascii()):
        raise ApiError(401, "the signature does not match the body")
    missing = [h for h in ("X-GitHub-Event", "X-GitHub-Delivery") if not headers.get(h.lower())]
    if missing:
        raise ApiError(400, f"missing header: {', '.join(missing)}")
    for name in ("X-GitHub-Event", "X-GitHub-Delivery"):
        if len(headers[name.lower()]) > MAX_NAME_CHARS:
            raise ApiError(400, f"{name} is longer than {MAX_NAME_CHARS} characters")
    try:
        # Only the SHA-256 signature counts: gidgethub prefers it when both are sent.
        event = Event.from_http(headers, body, secret=secret)
    except ValidationFailure:
        raise ApiError(401, "the signature does not match the body") from None
    except (BadRequest, ValueError, LookupError):  # LookupError: an unknown charset
        raise ApiError(400, "the body is not a JSON webhook payload") from None
    if not isinstance(event.data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return event


async def apply_delivery(
    request: Request, event: Event, action: str | None, after: AfterCommit
) -> tuple[int, str, list[Any]]:
    """Claim and apply the delivery in one transaction; (status, outcome, handler results)."""
    db = request.app.state.db
    now = request.app.state.clock()
    handlers = router.fetch(event)
    app_handlers = app_router.fetch(event)
    handled = bool(handlers or app_handlers)
    results: list[Any] = []
    async with db.transaction():
        claimed = await deliveries.claim_delivery(
            db, event.delivery_id, event.event, action, "applied" if handled else "ignored", now
        )
        if claimed:
            # router.dispatch, keeping what each handler returns for after the commit.
            results = [await handler(event, db, now) for handler in handlers]
            for handler in app_handlers:
                await handler(event, db, now, after)
    if not claimed:
        return 200, "duplicate", []
    if event.event == "ping":
        return 200, "pong", []
    if not handled:
        return 202, "ignored", []
    return 200, "applied", results


async def record_failure(
    request: Request, event: Event, action: str | None, exc: Exception
) -> None:
    try:
        await deliveries.record_failure(
            request.app.state.db,
            event.delivery_id,
            event.event,
            action,
            f"{type(exc).__name__}: {exc}",
            request.app.state.clock(),
        )
    except Exception:
        # The database may be what failed; the log line still says why.
        log.warning("could not record the failed delivery", exc_info=True)


def failure_status(exc: Exception) -> int:
    if isinstance(exc, PayloadError):
        return 422
    if database_unavailable(exc):
        return 503
    return 500


async def receive_webhook(request: Request) -> JSONResponse:
    started = time.perf_counter()
    guid = request.headers.get("x-github-delivery")
    fields: dict[str, Any] = {"event": request.headers.get("x-github-event"), "action": None}
    token = log_context.set({"delivery_id": guid})
    failure: Exception | None = None
    try:
        try:
            event = await verified_event(request)
        except ApiError as exc:
            fields.update(outcome="rejected", status=exc.status)
            return error_response(exc.status, exc.detail)
        action = event.data.get("action")
        fields["action"] = action = action[:MAX_NAME_CHARS] if isinstance(action, str) else None
        after = AfterCommit(request.app.state)
        try:
            status, outcome, results = await apply_delivery(request, event, action, after)
        except Exception as exc:
            failure = exc
            await record_failure(request, event, action, exc)
            status = failure_status(exc)
            fields.update(outcome="failed", status=status)
            detail = f"the delivery could not be applied: {type(exc).__name__}"
            if isinstance(exc, PayloadError):
                detail = f"the payload is malformed: {exc}"
            return error_response(status, detail)
        fields.update(outcome=outcome, status=status)
        # Real-time DMs of the review requests it made: after the commit and the answer.
        made = realtime.made_requests(results)
        if made:
            after.later(realtime.announce, request.app.state, made)
        return JSONResponse(
            {"detail": outcome, "delivery": guid},
            status_code=status,
            background=after.background(),
        )
    finally:
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        level = logging.INFO
        if fields.get("outcome") in ("failed", "rejected"):
            level = logging.ERROR if fields["status"] >= 500 else logging.WARNING
        log.log(level, "webhook delivery", extra=fields, exc_info=failure)
        log_context.reset(token)


routes = [Route("/github/webhooks", receive_webhook, methods=["POST"])]
