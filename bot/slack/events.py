"""`POST /slack/events`: Slack's events, interactivity and commands, answered by Bolt."""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.api.declare import FORM, JSON, Answer, Api, Auth, error, limited_body
from bot.api.errors import ApiError

# Slack's payloads are small; a body far larger than any of them is refused unread.
MAX_BODY_BYTES = 1_000_000
api = Api("slack")
SIGNATURE = Auth(
    "slackSignature",
    {
        "type": "apiKey",
        "in": "header",
        "name": "X-Slack-Signature",
        "description": "Slack's signature of the body with SLACK_SIGNING_SECRET, with "
        "X-Slack-Request-Timestamp (at most five minutes old).",
    },
    [
        Answer(
            401,
            "Bad or stale Slack signature (Bolt's answer).",
            media=(JSON,),
            schema={
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            },
        )
    ],
)


def signed_by_slack(request: Request, body: bytes, secret: str) -> bool:
    """Slack's own check of X-Slack-Signature (and of the timestamp's age)."""
    try:
        return SignatureVerifier(secret).is_valid(
            body,
            request.headers.get("x-slack-request-timestamp"),
            request.headers.get("x-slack-signature"),
        )
    except ValueError:  # a timestamp that is not a number
        return False


def is_slack_body(body: bytes, content_type: str | None) -> bool:
    """Whether Bolt can read `body`: it reads a JSON object, or a form whose `payload` is
    one, and fails with a 500 on anything else (`[null, null]`, say)."""
    try:
        # As Bolt reads it: the media type as sent, up to any parameter.
        parsed = parse_body(body.decode("utf-8"), content_type and content_type.split(";")[0])
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return isinstance(parsed, dict)


@api.post(
    "/slack/events",
    summary="Slack events, interactivity and commands (Bolt; Slack-signed)",
    raw=True,
    raw_body={"type": "object"},
    body_media=(JSON, FORM),
    auth=SIGNATURE,
    answers=[
        Answer(
            200,
            "Acknowledged: Bolt's answer, as Slack expects it.",
            media=(JSON,),
            schema={"type": "object"},
        ),
        error(400, "Signed, but not a body Slack sends (a JSON object, or a form)."),
        error(413, "Body over 1 MB."),
        error(503, "Slack is not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET)."),
    ],
)
async def slack_events(request: Request) -> Response:
    """The signature is checked (401 when bad or stale) before Bolt reads the body: Bolt
    parses it first, and crashed on bodies Slack never sends."""
    bolt = request.app.state.slack_app
    if bolt is None:
        raise ApiError(503, "Slack is not configured")
    try:
        body = await limited_body(request, MAX_BODY_BYTES)
    except ApiError:
        raise ApiError(413, "the body is too large for a Slack request") from None
    if not signed_by_slack(request, body, request.app.state.settings.slack_signing_secret):
        return JSONResponse({"error": "invalid request"}, status_code=401)  # Bolt's own answer
    if not is_slack_body(body, request.headers.get("content-type")):
        raise ApiError(400, "the body is not one Slack sends: a JSON object, or a form")
    return await AsyncSlackRequestHandler(bolt).handle(request)
