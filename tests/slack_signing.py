"""Signing requests as Slack does (`X-Slack-Signature` v0), for tests of `/slack/events`."""

from __future__ import annotations

import hashlib
import hmac
import time

from tests.fake_slack import SIGNING_SECRET


def slack_signature(body: bytes, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: bytes,
    *,
    timestamp: int | None = None,
    secret: str = SIGNING_SECRET,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Headers Slack would send with `body`; `timestamp` defaults to now."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": slack_signature(body, timestamp, secret),
    }
