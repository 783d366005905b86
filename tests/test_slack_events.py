import asyncio
import json
import socket
import threading
import time

import aiohttp
import pytest
from starlette.testclient import TestClient

from bot.app import create_app
from bot.settings import load_settings
from bot.slack.app import CONNECTION_RETRIES, build_client
from tests.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack_signing import button_click, signed_headers

CHALLENGE = {
    "token": "legacy",
    "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
    "type": "url_verification",
}


@pytest.fixture
def slack_client(make_settings, fake_slack: FakeSlack):
    with TestClient(create_app(make_settings(**fake_slack.env()))) as client:
        yield client


def test_without_slack_settings_the_service_runs_and_the_endpoint_says_503(
    make_settings, caplog
) -> None:
    settings = make_settings(SLACK_BOT_TOKEN="xoxb-only-a-token")  # no signing secret
    with (
        caplog.at_level("INFO", logger="bot.slack.app"),
        TestClient(create_app(settings)) as client,
    ):
        assert client.app.state.slack_app is None
        assert client.app.state.slack is None
        body = json.dumps(CHALLENGE).encode()
        response = client.post("/slack/events", content=body, headers=signed_headers(body))
        assert response.status_code == 503
        assert response.json() == {"detail": "Slack is not configured"}
        assert client.get("/healthz").status_code == 200
    off = [r for r in caplog.records if r.getMessage() == "Slack is off"]
    assert [r.missing for r in off] == [["SLACK_SIGNING_SECRET"]]


def test_url_verification_is_answered_with_the_challenge(slack_client, fake_slack) -> None:
    body = json.dumps(CHALLENGE).encode()
    response = slack_client.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 200
    assert response.json() == {"challenge": CHALLENGE["challenge"]}
    assert fake_slack.calls == []  # nothing asked of Slack to answer it


def test_unsigned_requests_are_refused(slack_client) -> None:
    body = json.dumps(CHALLENGE).encode()
    response = slack_client.post(
        "/slack/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401
    assert "challenge" not in response.text


def test_a_signature_made_with_another_secret_is_refused(slack_client) -> None:
    body = json.dumps(CHALLENGE).encode()
    headers = signed_headers(body, secret="not-the-secret")
    assert slack_client.post("/slack/events", content=body, headers=headers).status_code == 401


def test_a_body_changed_after_signing_is_refused(slack_client) -> None:
    body = json.dumps(CHALLENGE).encode()
    headers = signed_headers(body)
    tampered = body.replace(b"3eZ", b"XXX")
    assert slack_client.post("/slack/events", content=tampered, headers=headers).status_code == 401


def test_stale_requests_are_refused_even_when_well_signed(slack_client) -> None:
    body = json.dumps(CHALLENGE).encode()
    headers = signed_headers(body, timestamp=int(time.time()) - 10 * 60)
    response = slack_client.post("/slack/events", content=body, headers=headers)
    assert response.status_code == 401
    # The same body signed now goes through, so only the age was wrong.
    fresh = slack_client.post("/slack/events", content=body, headers=signed_headers(body))
    assert fresh.status_code == 200


def test_a_huge_body_is_refused_unread(slack_client) -> None:
    body = b"{" + b" " * 1_100_000 + b"}"
    response = slack_client.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 413
    assert "detail" in response.json()


def test_the_client_talks_to_slack_api_url_with_the_bot_token(slack_client, fake_slack) -> None:
    client = slack_client.app.state.slack
    assert client.base_url == fake_slack.url
    answer = slack_client.portal.call(client.auth_test)
    assert answer["user_id"] == "UBOT"
    assert [(c.method, c.token) for c in fake_slack.calls] == [("auth.test", BOT_TOKEN)]


def test_the_client_waits_out_a_rate_limit_then_succeeds(tmp_path, fake_slack) -> None:
    fake_slack.rate_limit("chat.postMessage", times=2, retry_after=0)
    client = build_client(load_settings(fake_slack.env(), env_file=tmp_path / "none.env"))

    async def post():
        return await client.chat_postMessage(channel="C1", text="hello")

    assert asyncio.run(post())["ok"] is True
    attempts = fake_slack.calls_to("chat.postMessage", answered=False)
    assert [c.status for c in attempts] == [429, 429, 200]


def test_a_signed_button_click_reaches_a_listener_with_a_working_client(
    slack_client, fake_slack
) -> None:
    """How a feature's listener sees Slack: Bolt authorizes via auth.test, then dispatches."""
    bolt = slack_client.app.state.slack_app
    seen = []

    @bolt.action("approve")
    async def on_approve(ack, body, client, respond):
        seen.append(body["actions"][0]["value"])
        # Before ack(), so the calls are done when the HTTP answer comes back.
        await client.chat_postEphemeral(channel="D1", user=body["user"]["id"], text="noted")
        await respond(text="Approved", replace_original=True)
        await ack()

    body, headers = button_click(fake_slack.response_url("r1"), "approve", "42")
    response = slack_client.post("/slack/events", content=body, headers=headers)

    assert response.status_code == 200
    assert seen == ["42"]
    assert [c.method for c in fake_slack.calls] == [
        "auth.test",
        "chat.postEphemeral",
        "response_url",
    ]
    ephemeral = fake_slack.calls_to("chat.postEphemeral")[0]
    assert (ephemeral.args["user"], ephemeral.args["text"], ephemeral.token) == (
        "U1",
        "noted",
        BOT_TOKEN,
    )
    responded = fake_slack.calls_to("response_url")[0].args
    assert (responded["key"], responded["text"], responded["replace_original"]) == (
        "r1",
        "Approved",
        True,
    )


def test_a_failing_listener_is_logged_and_answered_500(slack_client, fake_slack, caplog) -> None:
    bolt = slack_client.app.state.slack_app

    @bolt.action("explode")
    async def explode(ack):
        raise RuntimeError("boom")

    body, headers = button_click(fake_slack.response_url("r1"), "explode", "1")
    response = slack_client.post("/slack/events", content=body, headers=headers)

    assert response.status_code == 500
    failures = [r for r in caplog.records if r.getMessage() == "a Slack listener failed"]
    assert [r.error for r in failures] == ["RuntimeError('boom')"]


class HangUpServer:
    """Accepts connections on loopback and closes each at once, counting them."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}/api/"
        self.connections = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


def test_dropped_connections_are_retried_before_the_call_fails(tmp_path) -> None:
    server = HangUpServer()
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": server.url}
    client = build_client(load_settings(env, env_file=tmp_path / "none.env"))

    async def post() -> None:
        await client.chat_postMessage(channel="C1", text="hello")

    try:
        with pytest.raises(aiohttp.ClientError):
            asyncio.run(post())
    finally:
        server.socket.close()
    assert server.connections == 1 + CONNECTION_RETRIES


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[null, null]", "application/json"),  # Bolt read it as a dict: a 500
        (b"{", "application/json"),
        (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),  # payload=[1]
    ],
)
def test_bodies_slack_never_sends_are_4xx_signed_or_not(slack_client, body, content_type) -> None:
    unsigned = slack_client.post(
        "/slack/events", content=body, headers={"Content-Type": content_type}
    )
    assert unsigned.status_code == 401
    headers = signed_headers(body, content_type=content_type)
    signed = slack_client.post("/slack/events", content=body, headers=headers)
    assert signed.status_code == 400
    assert "Slack" in signed.json()["detail"]


def test_a_body_that_is_not_utf8_is_refused_even_signed(slack_client) -> None:
    body = b"\xff\xfe"  # slack_sdk checks signatures over the body read as UTF-8
    response = slack_client.post("/slack/events", content=body, headers=signed_headers(body))
    assert response.status_code == 401


def test_a_timestamp_that_is_no_number_is_refused(slack_client) -> None:
    body = json.dumps(CHALLENGE).encode()
    headers = {**signed_headers(body), "X-Slack-Request-Timestamp": "soon"}
    assert slack_client.post("/slack/events", content=body, headers=headers).status_code == 401
