"""The work after the answer: durable, retried, and done once per approver."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta

import httpx
import uvicorn
from aiosmtpd.controller import Controller

from bot.app import create_app
from bot.releases import decisions
from bot.releases.tokens import new_token, token_hash
from bot.releases.work import fetch_and_keep_approvers, process_pending_releases
from bot.store import releases as store
from bot.store.clock import utcnow
from tests.releases.conftest import ANN, BOB, DEVX_URL, RELEASE, Inbox, free_port
from tests.releases.helpers import AUTH, audit, call, post_release


def job(client):
    return call(client, process_pending_releases, client.app.state)


def test_source_down_then_up(gate, source, inbox) -> None:
    route = source.get(DEVX_URL)
    route.side_effect = [httpx.ConnectError("refused")] * 3 + [httpx.Response(200, json=[ANN])]
    response = post_release(gate, RELEASE)
    assert response.status_code == 202
    release_id = response.json()["id"]
    assert route.call_count == 3  # the first attempt, retried twice

    polled = post_release(gate, RELEASE).json()
    assert polled["status"] == "pending"
    assert polled["approvers_error"] == "the approvers source is unreachable (ConnectError)"
    assert polled["approvals_needed"] is None
    assert inbox.mails == []
    assert route.call_count == 3  # polling does not refetch

    assert job(gate) == {"pending": 1, "decided": 0, "worked_on": 1}
    record = audit(gate, release_id)
    assert record["approvers_error"] is None
    assert record["attempts"] == 2
    assert [a["name"] for a in record["approvers"]] == ["Ann"]
    assert [m.recipients for m in inbox.mails] == [["ann@example.com"]]


def test_a_failing_source_is_retried_within_an_attempt(gate, source, inbox) -> None:
    route = source.get(DEVX_URL)
    route.side_effect = [httpx.Response(503), httpx.Response(200, json=[ANN])]
    release_id = post_release(gate, RELEASE).json()["id"]
    assert route.call_count == 2
    assert audit(gate, release_id)["attempts"] == 1
    assert len(inbox.mails) == 1


def test_junk_from_the_source_keeps_the_release_pending_with_the_reason(
    gate, source, inbox
) -> None:
    route = source.get(DEVX_URL)
    cases = [
        (httpx.Response(200, content=b"[" * 5000), "the answer is not JSON"),
        (httpx.Response(200, json={"people": []}), "without an approvers list"),
        (httpx.Response(200, json=[]), "the approvers list is empty"),
        (httpx.Response(200, json=[{"email": 42}]), "approver 1: email must be a string"),
        (httpx.Response(200, json=[ANN, "bob"]), "approver 2 is not an object"),
        (httpx.Response(200, text="<html>"), "the answer is not JSON"),
        (httpx.Response(404), "the approvers source answered 404"),
    ]
    route.side_effect = [answer for answer, _ in cases] + [httpx.Response(200, json=[ANN, BOB])]
    release_id = post_release(gate, RELEASE).json()["id"]
    for number, (_, reason) in enumerate(cases, start=1):
        polled = post_release(gate, RELEASE).json()
        assert polled["status"] == "pending"
        assert reason in polled["approvers_error"]
        assert route.call_count == number  # none of these is retried at once
        job(gate)
    assert audit(gate, release_id)["approvers_error"] is None
    assert len(inbox.mails) == 2


def test_a_crash_before_the_work_is_finished_by_the_job(gate, source, inbox) -> None:
    """A release stored and answered by a process that died before doing anything else."""
    route = source.get(DEVX_URL).respond(json=[ANN, BOB])
    db = gate.app.state.db
    _, created = call(gate, store.create_release, db, "Devx", "386", "Desafio-CD", utcnow())
    assert created
    assert post_release(gate, RELEASE).status_code == 200  # known, still pending
    assert inbox.mails == [] and route.call_count == 0

    assert job(gate)["worked_on"] == 1
    assert sorted(r for m in inbox.mails for r in m.recipients) == [
        "ann@example.com",
        "bob@example.com",
    ]
    assert job(gate)["worked_on"] == 0
    assert len(inbox.mails) == 2
    token = inbox.to("ann@example.com")[0].token
    assert gate.post("/approval", params={"token": token}).status_code == 200


def test_a_crash_while_sending_is_taken_over_after_the_lease(gate, source, inbox) -> None:
    source.get(DEVX_URL).respond(json=[ANN])
    db = gate.app.state.db
    release, _ = call(gate, store.create_release, db, "Devx", "386", "Desafio-CD", utcnow())
    # The work got as far as claiming Ann (a token made, "sending") and died there.
    assert call(gate, fetch_and_keep_approvers, gate.app.state, release)
    ann = call(gate, store.approvers_of, db, release["id"])[0]
    now = utcnow()
    claim = call(
        gate,
        store.claim_notification,
        db,
        ann["id"],
        token_hash(new_token()),
        now,
        now + timedelta(hours=72),
    )
    assert claim is not None
    assert job(gate)["worked_on"] == 0  # someone may still be sending
    assert inbox.mails == []

    later = now + timedelta(minutes=16)
    gate.app.state.clock = lambda: later
    assert job(gate)["worked_on"] == 1
    assert [m.recipients for m in inbox.mails] == [["ann@example.com"]]
    assert audit(gate, release["id"])["approvers"][0]["notify_error"] is None


def test_one_mail_per_approver_however_often_polled_or_run(gate, source, inbox) -> None:
    source.get(DEVX_URL).respond(json=[ANN, BOB])
    release_id = post_release(gate, RELEASE).json()["id"]
    for _ in range(5):
        assert post_release(gate, RELEASE).status_code == 200
        job(gate)
        gate.get(f"/v1/releases/{release_id}")
    assert len(inbox.to("ann@example.com")) == 1
    assert len(inbox.to("bob@example.com")) == 1


def test_concurrent_jobs_fetch_once_and_notify_each_approver_once(gate, source, inbox) -> None:
    route = source.get(DEVX_URL).respond(json=[ANN, BOB])
    db = gate.app.state.db
    release, _ = call(gate, store.create_release, db, "Devx", "386", "Desafio-CD", utcnow())

    async def three_at_once():
        state = gate.app.state
        return await asyncio.gather(*(process_pending_releases(state) for _ in range(3)))

    call(gate, three_at_once)
    assert route.call_count >= 1
    assert len(call(gate, store.approvers_of, db, release["id"])) == 2
    assert len(inbox.to("ann@example.com")) == 1
    assert len(inbox.to("bob@example.com")) == 1


def test_simultaneous_approvals_both_count(gate, source, inbox) -> None:
    source.get(DEVX_URL).respond(json=[ANN, BOB])
    release_id = post_release(gate, RELEASE).json()["id"]
    db = gate.app.state.db
    ann, bob = call(gate, store.approvers_of, db, release_id)

    async def both():
        now = utcnow()
        ttl = timedelta(hours=72)
        # Warm two pooled connections, so neither decision waits to connect.
        await asyncio.gather(*(store.get_release(db, release_id) for _ in range(2)))
        return await asyncio.gather(
            decisions.decide(db, ann, "approved", "link", now, ttl),
            decisions.decide(db, bob, "approved", "link", now, ttl),
        )

    call(gate, both)
    # The stored row, not a read that would settle it afresh.
    assert call(gate, store.get_release, db, release_id)["status"] == "approved"


def test_mail_server_down_then_up(make_client, source) -> None:
    port = free_port()
    gate = make_client(SMTP_URL=f"smtp://127.0.0.1:{port}")
    source.get(DEVX_URL).respond(json=[ANN])
    release_id = post_release(gate, RELEASE).json()["id"]
    ann = audit(gate, release_id)["approvers"][0]
    assert ann["notified_at"] is None  # handed back for another try
    assert ann["notify_error"].startswith("email: ")
    assert "slack: Slack is not configured" in ann["notify_error"]

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert job(gate)["worked_on"] == 1
    finally:
        controller.stop()
    assert [m.recipients for m in inbox.mails] == [["ann@example.com"]]
    ann = audit(gate, release_id)["approvers"][0]
    assert ann["notified_at"] is not None and ann["notify_error"] is None
    assert gate.post("/approval", params={"token": inbox.mails[0].token}).status_code == 200


def test_an_approver_no_channel_reaches_is_recorded_and_not_retried(gate, source, inbox) -> None:
    source.get(DEVX_URL).respond(json=[{"name": "Dana", "github_login": "dana"}, ANN])
    release_id = post_release(gate, RELEASE).json()["id"]
    dana = audit(gate, release_id)["approvers"][0]
    assert dana["notified_at"] is not None
    assert dana["notify_error"] == "email: no email address; slack: Slack is not configured"
    assert job(gate)["worked_on"] == 0


def test_a_release_whose_approvers_never_came_expires(gate, source, inbox) -> None:
    source.get(DEVX_URL).respond(503)
    release_id = post_release(gate, RELEASE).json()["id"]
    later = utcnow() + timedelta(hours=73)
    gate.app.state.clock = lambda: later
    assert job(gate) == {"pending": 0, "decided": 1, "worked_on": 0}
    assert audit(gate, release_id)["status"] == "expired"


def test_the_answer_does_not_wait_for_the_approvers_source(
    make_settings, release_env, source, inbox
) -> None:
    """Served by uvicorn on loopback: 202 arrives while the source still holds its answer."""
    release_source = threading.Event()

    async def slow_source(request):
        await asyncio.to_thread(release_source.wait, 30)
        return httpx.Response(200, json=[ANN])

    route = source.get(DEVX_URL).mock(side_effect=slow_source)
    source.route(host="127.0.0.1").pass_through()
    port = free_port()
    app = create_app(make_settings(**release_env))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            response = http.post("/release", json=RELEASE, headers=AUTH)
            assert response.status_code == 202
            assert inbox.mails == []  # the source has not answered yet
            assert http.post("/release", json=RELEASE, headers=AUTH).json()["status"] == "pending"
            release_source.set()
            deadline = time.monotonic() + 10
            while not inbox.mails and time.monotonic() < deadline:
                time.sleep(0.02)
        assert route.call_count == 1
        assert [m.recipients for m in inbox.mails] == [["ann@example.com"]]
    finally:
        release_source.set()
        server.should_exit = True
        thread.join(timeout=10)
