"""`POST /github/webhooks` declared for the route table and /docs.json.

The route's work (signature, exactly-once delivery) is in bot/github/webhooks.py; the
body is GitHub's, so the route is raw: described here, read there.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import TypedDict

from bot.api.declare import Answer, Api, Auth, error
from bot.github.webhooks import receive_webhook

api = Api("github")
SIGNATURE = Auth(
    "githubSignature",
    {
        "type": "apiKey",
        "in": "header",
        "name": "X-Hub-Signature-256",
        "description": "`sha256=` and the HMAC-SHA256 of the body with GITHUB_WEBHOOK_SECRET.",
    },
    [error(401, "Missing or wrong signature.")],
)


class Delivery(TypedDict):
    detail: Literal["applied", "ignored", "duplicate", "pong"]
    delivery: Annotated[str, Field(description="The X-GitHub-Delivery GUID.")]


api.post(
    "/github/webhooks",
    summary="Receive a GitHub App webhook delivery (signed with X-Hub-Signature-256)",
    raw=True,
    raw_body={"type": "object"},
    auth=SIGNATURE,
    description=(
        "GitHub's headers `X-GitHub-Event` and `X-GitHub-Delivery` (a GUID, applied once) "
        "come with the signature; the body is the event's payload."
    ),
    answers=[
        Answer(200, "Applied, a ping, or a repeated delivery.", Delivery),
        Answer(202, "Stored; an event Reviewer does not act on.", Delivery),
        error(400, "Missing or overlong headers, or a body that is not a JSON object."),
        error(413, "Body over 25 MB."),
        error(422, "A payload without the fields its event must carry."),
        error(500, "Not applied (recorded as failed); GitHub's redelivery applies it."),
        error(503, "No GITHUB_WEBHOOK_SECRET configured, or the database is down."),
    ],
)(receive_webhook)
