"""What reaches POST /github/webhooks before anything is applied: signature, size, shape."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from starlette.testclient import TestClient

from bot.app import create_app
from bot.github.webhooks import MAX_BODY_BYTES
from bot.store import deliveries
from tests.conftest import WEBHOOK_SECRET
from tests.webhook_client import WEBHOOK_PATH, deliver, encode, headers, payload, sign


def test_ping_is_answered_200(client: TestClient, run, db) -> None:
    answer = deliver(client, "ping", payload("ping"), guid="ping-1")
    assert answer.status_code == 200
    assert answer.json() == {"detail": "pong", "delivery": "ping-1"}
    assert run(deliveries.get_delivery, db, "ping-1")["outcome"] == "ignored"


@pytest.mark.parametrize("secret", ["wrong-secret", None], ids=["wrong", "missing"])
def test_bad_or_missing_signature_is_401_and_stores_nothing(
    client: TestClient, run, db, secret: str | None
) -> None:
    answer = deliver(
        client, "pull_request", payload("pull_request/opened"), guid="sig-1", secret=secret
    )
    assert answer.status_code == 401
    assert "signature" in answer.json()["detail"].lower()
    assert run(deliveries.get_delivery, db, "sig-1") is None
    assert client.get("/v1/pull_requests?state=all").json() == []
    assert client.get("/v1/projects").json() == []


def test_a_signature_of_another_body_is_401(client: TestClient) -> None:
    body = encode(payload("pull_request/opened"))
    sent = headers("pull_request", body)
    sent["X-Hub-Signature-256"] = sign(body + b" ")
    assert client.post(WEBHOOK_PATH, content=body, headers=sent).status_code == 401


def test_only_a_sha1_signature_is_not_enough(client: TestClient) -> None:
    body = encode(payload("ping"))
    sent = headers("ping", body)
    del sent["X-Hub-Signature-256"]
    sent["X-Hub-Signature"] = "sha1=" + "0" * 40
    assert client.post(WEBHOOK_PATH, content=body, headers=sent).status_code == 401


def test_without_a_secret_webhooks_are_refused_503(make_settings) -> None:
    with TestClient(create_app(make_settings(GITHUB_WEBHOOK_SECRET=None))) as client:
        for secret in ("test-webhook-secret", None):
            answer = deliver(client, "ping", payload("ping"), secret=secret)
            assert answer.status_code == 503
            assert "GITHUB_WEBHOOK_SECRET" in answer.json()["detail"]


@pytest.mark.parametrize("drop", ["X-GitHub-Event", "X-GitHub-Delivery"])
def test_missing_headers_are_400(client: TestClient, drop: str) -> None:
    body = encode(payload("ping"))
    sent = headers("ping", body)
    del sent[drop]
    answer = client.post(WEBHOOK_PATH, content=body, headers=sent)
    assert answer.status_code == 400
    assert drop in answer.json()["detail"]


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"", "application/json"),
        (b'{"zen": "x"}', "text/plain"),
    ],
    ids=["broken", "not-utf8", "array", "empty", "not-json-type"],
)
def test_malformed_bodies_are_400(client: TestClient, run, db, body: bytes, content_type) -> None:
    sent = headers("ping", body, guid="bad-body")
    sent["Content-Type"] = content_type
    answer = client.post(WEBHOOK_PATH, content=body, headers=sent)
    assert answer.status_code == 400
    assert answer.json()["detail"]
    assert run(deliveries.get_delivery, db, "bad-body") is None


def test_a_body_over_25_mb_is_413(client: TestClient, run, db) -> None:
    # A valid JSON object just over the limit, correctly signed.
    filler = "x" * (MAX_BODY_BYTES - 20)
    body = json.dumps({"zen": filler, "pad": "0123456789"}).encode()
    assert len(body) > MAX_BODY_BYTES
    answer = client.post(WEBHOOK_PATH, content=body, headers=headers("ping", body, guid="big"))
    assert answer.status_code == 413
    assert answer.json()["detail"].startswith("the body exceeds")

    # Without a Content-Length (chunked), the limit still holds while reading.
    def chunks():
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    answer = client.post(WEBHOOK_PATH, content=chunks(), headers=headers("ping", body, guid="big"))
    assert answer.status_code == 413
    assert run(deliveries.get_delivery, db, "big") is None


def test_other_events_are_acknowledged_202_and_recorded_ignored(client: TestClient, run, db):
    answer = deliver(
        client, "pull_request_review_comment", payload("pull_request_review_comment/created"), "c1"
    )
    assert answer.status_code == 202
    assert answer.json()["detail"] == "ignored"
    # An action we do not handle, of an event we do, is ignored too.
    answer = deliver(
        client, "installation", payload("installation/new_permissions_accepted"), guid="c2"
    )
    assert answer.status_code == 202
    for guid, event in (("c1", "pull_request_review_comment"), ("c2", "installation")):
        row = run(deliveries.get_delivery, db, guid)
        assert (row["event"], row["outcome"], row["error"]) == (event, "ignored", None)
    assert client.get("/v1/pull_requests?state=all").json() == []


def test_overlong_names_are_400_or_cut(client: TestClient, run, db) -> None:
    body = encode(payload("ping"))
    for name in ("X-GitHub-Event", "X-GitHub-Delivery"):
        sent = headers("ping", body)
        sent[name] = "x" * 65
        answer = client.post(WEBHOOK_PATH, content=body, headers=sent)
        assert answer.status_code == 400
        assert name in answer.json()["detail"]
    # An action is GitHub's to name; a long one is recorded cut, not refused.
    odd = {**payload("pull_request/opened"), "action": "a" * 100}
    assert deliver(client, "pull_request", odd, guid="long-action").status_code == 202
    assert run(deliveries.get_delivery, db, "long-action")["action"] == "a" * 64


@pytest.mark.parametrize("kind", ["not-ascii", "sha1-in-the-sha256-header"])
def test_a_malformed_sha256_signature_is_401_not_500(client: TestClient, kind: str) -> None:
    body = encode(payload("ping"))
    sent: dict = headers("ping", body)
    if kind == "not-ascii":
        sent["X-Hub-Signature-256"] = b"sha256=\xe9" + b"0" * 63
    else:  # a right HMAC, but SHA-1: a downgrade the SHA-256 header must not allow
        digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha1).hexdigest()
        sent["X-Hub-Signature-256"] = f"sha1={digest}"
    answer = client.post(WEBHOOK_PATH, content=body, headers=sent)
    assert answer.status_code == 401
    assert "signature" in answer.json()["detail"]


def test_a_signed_body_in_an_unknown_charset_is_400_not_500(client: TestClient, run, db) -> None:
    body = encode(payload("ping"))
    sent = headers("ping", body, guid="charset-1")
    sent["Content-Type"] = "application/json; charset=no-such-charset"
    answer = client.post(WEBHOOK_PATH, content=body, headers=sent)
    assert answer.status_code == 400
    assert "JSON" in answer.json()["detail"]
    assert run(deliveries.get_delivery, db, "charset-1") is None
