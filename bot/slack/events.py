"""`POST /slack/events`: Slack's events, interactivity and commands, answered by Bolt."""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.requests import Request
from starlette.responses import Response

from bot.api.declare import FORM, JSON, Answer, Api, error
from bot.api.errors import ApiError

# Slack's payloads are small; a body far larger than any of them is refused unread.
MAX_BODY_BYTES = 1_000_000
api = Api("slack")


@api.post(
    "/slack/events",
    summary="Slack events, interactivity and commands (Bolt; Slack-signed)",
    raw=True,
    raw_body={"type": "object"},
    body_media=(JSON, FORM),
    answers=[
        Answer(
            200,
            "Acknowledged: Bolt's answer, as Slack expects it.",
            media=(JSON,),
            schema={"type": "object"},
        ),
        Answer(
            401,
            "Bad or stale Slack signature (Bolt's own body).",
            media=(JSON,),
            schema={"type": "object", "properties": {"error": {"type": "string"}}},
        ),
        error(413, "Body over 1 MB."),
        error(503, "Slack is not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)."),
    ],
)
async def slack_events(request: Request) -> Response:
    """Bolt checks the signature (401 when bad or stale) and dispatches to the listeners."""
    bolt = request.app.state.slack_app
    if bolt is None:
        raise ApiError(503, "Slack is not configured")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise ApiError(413, "the body is too large for a Slack request")
    return await AsyncSlackRequestHandler(bolt).handle(request)
