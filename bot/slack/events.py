"""`POST /slack/events`: Slack's events, interactivity and commands, answered by Bolt."""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.api.errors import ApiError

# Slack's payloads are small; a body far larger than any of them is refused unread.
MAX_BODY_BYTES = 1_000_000


async def slack_events(request: Request) -> Response:
    """Bolt checks the signature (401 when bad or stale) and dispatches to the listeners."""
    bolt = request.app.state.slack_app
    if bolt is None:
        raise ApiError(503, "Slack is not configured")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise ApiError(413, "the body is too large for a Slack request")
    return await AsyncSlackRequestHandler(bolt).handle(request)


routes = [Route("/slack/events", slack_events, methods=["POST"])]
