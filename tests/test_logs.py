"""Request logs: one JSON line per request, LOG_LEVEL honoured, no secret ever written."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient

from bot.app import create_app
from bot.logs import configure_logging
from bot.replay import signature
from bot.settings import Settings
from tests.conftest import API_TOKEN, WEBHOOK_SECRET


@pytest.fixture
def capture_logs() -> Iterator[Callable[[str], io.StringIO]]:
    """Route the service's logging, as `reviewer serve` sets it up, into a buffer."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}

    def start(level: str) -> io.StringIO:
        buffer = io.StringIO()
        configure_logging(level, stream=buffer)
        return buffer

    yield start
    root.handlers[:] = handlers
    root.setLevel(root_level)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def requests(buffer: io.StringIO) -> list[dict]:
    return [entry for entry in lines(buffer) if entry["message"] == "request"]


def test_one_json_line_per_request(client: TestClient, capture_logs, auth) -> None:
    buffer = capture_logs("INFO")
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    client.get("/v1/projects", params={"page": "1", "per_page": "5"})
    client.post("/v1/projects", json={"name": "x"}, headers=auth)
    client.get("/v1/projects/999")

    logged = requests(buffer)
    assert [(e["method"], e["path"], e["status"]) for e in logged] == [
        ("GET", "/v1/projects", 200),
        ("POST", "/v1/projects", 400),
        ("GET", "/v1/projects/999", 404),
    ]
    for entry in logged:
        assert entry["level"] == "info"
        # ISO 8601 in UTC to the millisecond, the moment of the request.
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["timestamp"])
        at = datetime.fromisoformat(entry["timestamp"])
        assert before <= at <= datetime.now(UTC)
        assert isinstance(entry["duration_ms"], float)
        assert entry["duration_ms"] >= 0
    assert "per_page" not in buffer.getvalue()


def test_log_level_is_honoured(
    make_settings: Callable[..., Settings], capture_logs, tmp_path
) -> None:
    settings = make_settings(LOG_LEVEL="warning")
    assert settings.log_level == "WARNING"
    buffer = capture_logs(settings.log_level)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/nowhere").status_code == 404
    assert requests(buffer) == []
    logging.getLogger("bot.anything").warning("still said")
    assert [e["message"] for e in lines(buffer)] == ["still said"]


def test_secrets_never_reach_the_logs(
    make_settings: Callable[..., Settings], capture_logs, auth
) -> None:
    # DEBUG: everything any library says is captured too.
    buffer = capture_logs("DEBUG")
    settings = make_settings(
        SLACK_BOT_TOKEN="xoxb-slack-bot-token",
        SLACK_SIGNING_SECRET="slack-signing-secret",
        GITHUB_TOKEN="ghp_github_token_value",
    )
    body = json.dumps({"action": "opened", "marker": "body-marker-value"}).encode()
    sig = signature(body, WEBHOOK_SECRET)
    secrets = [
        API_TOKEN,
        WEBHOOK_SECRET,
        sig,
        sig.split("=", 1)[1],
        "wrong-bearer-token",
        "approval-token-value",
        "manifest-code-value",
        "manifest-state-value",
        "body-marker-value",
        "xoxb-slack-bot-token",
        "slack-signing-secret",
        "ghp_github_token_value",
    ]
    with TestClient(create_app(settings)) as client:
        sent = [
            client.post("/v1/projects", headers=auth, json={"name": "body-marker-value"}),
            client.post(
                "/v1/projects",
                headers={"Authorization": "Bearer wrong-bearer-token"},
                json={"name": "n", "repo_owner": "o", "repo_name": "r"},
            ),
            client.delete("/v1/projects/1", headers={"Authorization": "Bearer wrong-bearer-token"}),
            client.post(
                "/github/webhooks",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-GitHub-Event": "pull_request",
                    "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                    "X-Hub-Signature-256": sig,
                },
            ),
            client.get("/approval", params={"token": "approval-token-value"}),
            client.post("/approval", params={"token": "approval-token-value"}),
            client.get(
                "/setup/callback",
                params={"code": "manifest-code-value", "state": "manifest-state-value"},
            ),
            client.get("/v1/users/1", params={"details": "true", "token": "approval-token-value"}),
        ]
        logging.getLogger("bot.test").info("settings", extra={"settings": repr(settings)})

    assert [r.status_code for r in sent][:3] == [400, 403, 403]
    logged = requests(buffer)
    assert len(logged) == len(sent)
    assert [e["path"] for e in logged][4:] == [
        "/approval",
        "/approval",
        "/setup/callback",
        "/v1/users/1",
    ]
    text = buffer.getvalue()
    assert "settings" in text
    leaked = [secret for secret in secrets if secret in text]
    assert leaked == []


def test_every_line_is_one_ascii_json_object_whatever_it_carries(
    client: TestClient, capture_logs
) -> None:
    """Text beyond ASCII, bytes that are not UTF-8 and objects JSON has no type for are
    written too (escaped, or as their text), each line one JSON object in ASCII."""
    buffer = capture_logs("INFO")
    assert client.get("/v1/pull_requests/%C3%A9t%C3%A9").status_code == 404
    odd = logging.getLogger("bot.anything")
    odd.info("réglé 🚀", extra={"at": datetime(2026, 1, 2, tzinfo=UTC), "raw": b"ok"})
    odd.info("plain", extra={"count": 3, "ratio": 0.5, "names": ["ann"], "none": None})
    odd.info("bytes", extra={"raw": b"\xff\xfe"})
    text = buffer.getvalue()
    assert text.isascii()
    logged = lines(buffer)
    assert [e["path"] for e in logged if e["message"] == "request"] == ["/v1/pull_requests/été"]
    odd_lines = [e for e in logged if e["logger"] == "bot.anything"]
    assert odd_lines[0] | {"timestamp": None} == {
        "timestamp": None,
        "level": "info",
        "logger": "bot.anything",
        "message": "réglé 🚀",
        "at": "2026-01-02T00:00:00Z",
        "raw": "ok",
    }
    assert odd_lines[2]["raw"] == "b'\\xff\\xfe'"
    assert {k: odd_lines[1][k] for k in ("count", "ratio", "names", "none")} == {
        "count": 3,
        "ratio": 0.5,
        "names": ["ann"],
        "none": None,
    }
