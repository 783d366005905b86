"""Requests as Slack signs them (`X-Slack-Signature` v0), for tests of `/slack/events`."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

from tests.fake_slack import SIGNING_SECRET, TEAM_ID


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


def button_click(
    response_url: str,
    action_id: str,
    value: str,
    user_id: str = "U1",
    channel: str = "D1",
    message: dict | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a signed block_actions request, as Slack posts a button click.

    `response_url` may be `fake_slack.response_url()`, where Bolt's `respond()` posts.
    `message` is the clicked message (`ts`, `text`, `blocks`), as Slack includes it.
    """
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "test"},
        "user": {"id": user_id, "team_id": TEAM_ID},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "1.2.3",
        "response_url": response_url,
        "channel": {"id": channel},
        "container": {"type": "message", "channel_id": channel, "message_ts": "1.000001"},
        "actions": [{"action_id": action_id, "block_id": "b1", "type": "button", "value": value}],
    }
    if message is not None:
        payload["message"] = {"type": "message", **message}
        payload["container"]["message_ts"] = message.get("ts", "1.000001")
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return body, signed_headers(body, content_type="application/x-www-form-urlencoded")


def app_home_opened(user_id: str, tab: str = "home") -> tuple[bytes, dict[str, str]]:
    """Body and headers of a signed Events API `app_home_opened` callback."""
    payload = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": f"Ev{time.time_ns()}",
        "event_time": int(time.time()),
        "event": {
            "type": "app_home_opened",
            "user": user_id,
            "channel": "D" + user_id[1:],
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        },
    }
    body = json.dumps(payload).encode()
    return body, signed_headers(body)


def view_submission(
    callback_id: str, private_metadata: str, values: dict, user_id: str = "U1"
) -> tuple[bytes, dict[str, str]]:
    """Body and headers of a signed view_submission, as Slack posts a submitted modal.

    `values` is the view's state: `{block_id: {action_id: {"type": ..., "value": ...}}}`.
    """
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "test"},
        "user": {"id": user_id, "team_id": TEAM_ID},
        "api_app_id": "A1",
        "token": "legacy",
        "trigger_id": "4.5.6",
        "view": {
            "id": "V1",
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
            "hash": "1.a",
        },
        "response_urls": [],
    }
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return body, signed_headers(body, content_type="application/x-www-form-urlencoded")
