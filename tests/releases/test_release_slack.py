"""Release approval on Slack: a DM with buttons per approver found there, the buttons
clicked through a signed interactivity payload to /slack/events, handled by Bolt."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from bot.releases.messages import (
    APPROVE_ACTION,
    REASON_BLOCK,
    REASON_INPUT,
    REJECT_ACTION,
    REJECT_VIEW,
)
from bot.releases.work import process_pending_releases
from bot.store import releases as store
from bot.store.clock import utcnow
from tests.factories import add_user
from tests.releases.conftest import DEVX_URL, RELEASE
from tests.releases.helpers import audit, call, post_release, wait_for
from tests.slack_signing import button_click, view_submission

ANN = {"name": "Ann", "email": "ann@example.com", "slack_id": "UANN"}
BOB = {"name": "Bob", "github_login": "Bob-GH"}
CAROL = {"name": "Carol", "email": "carol@example.com"}
DANA = {"name": "Dana", "email": "dana@example.com"}


@pytest.fixture
def slack_gate(make_client, fake_slack):
    return make_client(**fake_slack.env())


def dm_blocks(fake_slack, user: str) -> list[dict]:
    posts = [c for c in fake_slack.calls_to("chat.postMessage") if c.args["channel"] == user]
    assert len(posts) == 1, posts
    return posts[0].json_arg("blocks")


def buttons(blocks: list[dict]) -> dict[str, str]:
    actions = next(b for b in blocks if b["type"] == "actions")
    return {e["action_id"]: e["value"] for e in actions["elements"]}


def click(client, fake_slack, approver: dict, user: str, action_id: str = APPROVE_ACTION):
    """Post what Slack posts when `user` clicks a button of `approver`'s DM."""
    body, headers = button_click(
        fake_slack.response_url(), action_id, str(approver["id"]), user, approver["slack_channel"]
    )
    return client.post("/slack/events", content=body, headers=headers)


def stored_approvers(client, release_id: int) -> dict[str, dict]:
    rows = call(client, store.approvers_of, client.app.state.db, release_id)
    return {row["name"]: row for row in rows}


def test_each_approver_found_on_slack_gets_one_dm_with_buttons_and_link(
    slack_gate, source, inbox, fake_slack
) -> None:
    call(slack_gate, add_user, slack_gate.app.state.db, "bob-gh", metadata={"slack_id": "UBOB"})
    fake_slack.add_user("carol@example.com", "UCAROL")
    source.get(DEVX_URL).respond(json=[ANN, BOB, CAROL, DANA])
    release_id = post_release(slack_gate, RELEASE).json()["id"]

    lookups = [c.args["email"] for c in fake_slack.calls_to("users.lookupByEmail")]
    assert lookups == ["carol@example.com", "dana@example.com"]  # Ann has a slack_id
    dms = sorted(c.args["channel"] for c in fake_slack.calls_to("chat.postMessage"))
    assert dms == ["UANN", "UBOB", "UCAROL"]

    rows = stored_approvers(slack_gate, release_id)
    blocks = dm_blocks(fake_slack, "UANN")
    assert buttons(blocks) == {
        APPROVE_ACTION: str(rows["Ann"]["id"]),
        REJECT_ACTION: str(rows["Ann"]["id"]),
    }
    text = json.dumps(blocks)
    assert "Desafio-CD" in text and "386" in text and "Devx" in text
    # The DM carries the same personal link as Ann's mail.
    ann_token = inbox.to("ann@example.com")[0].token
    assert f"http://reviewer.test/approval?token={ann_token}" in text
    assert (rows["Ann"]["slack_channel"], rows["Bob"]["slack_id"]) == ("DANN", "UBOB")

    record = audit(slack_gate, release_id)
    assert {a["name"]: a["notify_error"] for a in record["approvers"]} == {
        "Ann": None,
        "Bob": None,  # no email, but Slack reached him
        "Carol": None,
        "Dana": None,  # not on Slack, but the mail reached her
    }

    for _ in range(3):
        post_release(slack_gate, RELEASE)
        call(slack_gate, process_pending_releases, slack_gate.app.state)
    assert len(fake_slack.calls_to("chat.postMessage")) == 3


def test_approve_by_button_records_it_and_updates_the_message(
    slack_gate, source, inbox, fake_slack
) -> None:
    source.get(DEVX_URL).respond(json=[ANN, {"name": "Eve", "slack_id": "UEVE"}])
    release_id = post_release(slack_gate, RELEASE).json()["id"]
    rows = stored_approvers(slack_gate, release_id)

    response = click(slack_gate, fake_slack, rows["Ann"], "UANN")
    assert response.status_code == 200
    wait_for(lambda: len(fake_slack.calls_to("chat.update")) == 1)
    update = fake_slack.calls_to("chat.update")[0]
    assert (update.args["channel"], update.args["ts"]) == ("DANN", rows["Ann"]["slack_ts"])
    shown = json.dumps(update.json_arg("blocks"))
    assert "You approved this release (slack)" in shown
    assert APPROVE_ACTION not in shown  # the buttons are gone
    assert post_release(slack_gate, RELEASE).json()["status"] == "pending"

    click(slack_gate, fake_slack, rows["Eve"], "UEVE")
    wait_for(lambda: post_release(slack_gate, RELEASE).json()["status"] == "approved")
    record = audit(slack_gate, release_id)
    assert [(a["decision"], a["channel"]) for a in record["approvers"]] == [
        ("approved", "slack"),
        ("approved", "slack"),
    ]
    # Once decided, every DM shows the outcome.
    wait_for(lambda: {c.args["channel"] for c in fake_slack.calls_to("chat.update")} >= {"DEVE"})
    assert fake_slack.calls_to("chat.postEphemeral") == []


def test_someone_else_clicking_is_refused_privately(slack_gate, source, inbox, fake_slack) -> None:
    source.get(DEVX_URL).respond(json=[ANN])
    release_id = post_release(slack_gate, RELEASE).json()["id"]
    ann = stored_approvers(slack_gate, release_id)["Ann"]

    assert click(slack_gate, fake_slack, ann, "UMALLORY").status_code == 200
    wait_for(lambda: len(fake_slack.calls_to("chat.postEphemeral")) == 1)
    refusal = fake_slack.calls_to("chat.postEphemeral")[0]
    assert (refusal.args["user"], refusal.args["channel"]) == ("UMALLORY", "DANN")
    assert "Only the approver Ann" in refusal.args["text"]
    assert fake_slack.calls_to("chat.update") == []
    record = audit(slack_gate, release_id)
    assert record["status"] == "pending"
    assert record["approvers"][0]["decision"] is None


def submit_reason(client, approver: dict, user: str, reason: str):
    """Post what Slack posts when `user` submits the Reject modal with `reason`."""
    values = {REASON_BLOCK: {REASON_INPUT: {"type": "plain_text_input", "value": reason}}}
    body, headers = view_submission(REJECT_VIEW, str(approver["id"]), values, user)
    return client.post("/slack/events", content=body, headers=headers)


def test_reject_by_button_asks_for_a_reason_first(slack_gate, source, inbox, fake_slack) -> None:
    source.get(DEVX_URL).respond(json=[ANN, CAROL])
    release_id = post_release(slack_gate, RELEASE).json()["id"]
    ann = stored_approvers(slack_gate, release_id)["Ann"]
    click(slack_gate, fake_slack, ann, "UANN", REJECT_ACTION)
    wait_for(lambda: len(fake_slack.calls_to("views.open")) == 1)
    opened = fake_slack.calls_to("views.open")[0]
    assert opened.args["trigger_id"] == "1.2.3"
    modal = opened.json_arg("view")
    assert (modal["callback_id"], modal["private_metadata"]) == (REJECT_VIEW, str(ann["id"]))
    assert "Desafio-CD" in json.dumps(modal)
    # Nothing is recorded until the reason comes.
    assert post_release(slack_gate, RELEASE).json()["status"] == "pending"
    assert fake_slack.calls_to("chat.update") == []

    answer = submit_reason(slack_gate, ann, "UANN", "  The smoke tests are red.  ")
    assert answer.status_code == 200
    wait_for(lambda: post_release(slack_gate, RELEASE).json()["status"] == "rejected")
    wait_for(lambda: len(fake_slack.calls_to("chat.update")) == 1)
    assert "You rejected this release" in json.dumps(
        [c.json_arg("blocks") for c in fake_slack.calls_to("chat.update")]
    )
    record = audit(slack_gate, release_id)
    assert (record["approvers"][0]["channel"], record["approvers"][0]["comment"]) == (
        "slack",
        "The smoke tests are red.",
    )
    # Carol's mail link now meets a decided release.
    late = slack_gate.post("/approval", params={"token": inbox.to("carol@example.com")[0].token})
    assert late.status_code == 409


def test_a_reason_from_someone_else_is_refused(slack_gate, source, inbox, fake_slack) -> None:
    source.get(DEVX_URL).respond(json=[ANN])
    release_id = post_release(slack_gate, RELEASE).json()["id"]
    ann = stored_approvers(slack_gate, release_id)["Ann"]
    submit_reason(slack_gate, ann, "UMALLORY", "mine now")
    wait_for(lambda: len(fake_slack.calls_to("chat.postEphemeral")) == 1)
    assert "Only the approver Ann" in fake_slack.calls_to("chat.postEphemeral")[0].args["text"]
    assert audit(slack_gate, release_id)["approvers"][0]["decision"] is None


def test_a_click_after_the_release_was_decided_by_link(
    slack_gate, source, inbox, fake_slack
) -> None:
    source.get(DEVX_URL).respond(json=[ANN, {"name": "Eve", "slack_id": "UEVE"}])
    release_id = post_release(slack_gate, RELEASE).json()["id"]
    rows = stored_approvers(slack_gate, release_id)
    token = inbox.to("ann@example.com")[0].token
    rejected = slack_gate.post("/approval", params={"token": token}, json={"decision": "reject"})
    assert rejected.json()["status"] == "rejected"
    # The link's decision updated both DMs after the answer.
    assert {c.args["channel"] for c in fake_slack.calls_to("chat.update")} == {"DANN", "DEVE"}

    click(slack_gate, fake_slack, rows["Eve"], "UEVE")
    wait_for(lambda: len(fake_slack.calls_to("chat.postEphemeral")) == 1)
    told = fake_slack.calls_to("chat.postEphemeral")[0].args["text"]
    assert told == "This release is already rejected; nothing was recorded."
    assert audit(slack_gate, release_id)["approvers"][1]["decision"] is None


def test_slack_refusing_a_dm_falls_back_to_mail_and_is_recorded(
    slack_gate, source, inbox, fake_slack
) -> None:
    fake_slack.fail_channel("UANN", "user_disabled")
    source.get(DEVX_URL).respond(json=[ANN])
    release_id = post_release(slack_gate, RELEASE).json()["id"]
    assert len(inbox.to("ann@example.com")) == 1
    ann = audit(slack_gate, release_id)["approvers"][0]
    assert ann["notify_error"] == "slack: user_disabled"
    assert ann["notified_at"] is not None


def test_slack_down_for_an_approver_only_on_slack_is_retried(
    slack_gate, source, inbox, fake_slack
) -> None:
    fake_slack.fail_method("chat.postMessage", "internal_error")
    source.get(DEVX_URL).respond(json=[{"name": "Eve", "slack_id": "UEVE"}])
    release_id = post_release(slack_gate, RELEASE).json()["id"]
    eve = audit(slack_gate, release_id)["approvers"][0]
    assert (eve["notified_at"], eve["notify_error"]) == (
        None,
        "email: no email address; slack: internal_error",
    )
    fake_slack.reset()
    assert call(slack_gate, process_pending_releases, slack_gate.app.state)["worked_on"] == 1
    assert [c.args["channel"] for c in fake_slack.calls_to("chat.postMessage")] == ["UEVE"]
    assert audit(slack_gate, release_id)["approvers"][0]["notify_error"] is None


def test_a_mail_that_cannot_be_built_still_lets_the_dm_go(
    slack_gate, source, inbox, fake_slack
) -> None:
    """A name that cannot go into a mail header (stored before the API refused such
    names) fails the mail alone: the DM goes out and the approver is not left claimed."""
    source.get(DEVX_URL).respond(json=[ANN])
    db = slack_gate.app.state.db
    release, _ = call(slack_gate, store.create_release, db, "Devx", "386", "a\nb", utcnow())
    call(slack_gate, process_pending_releases, slack_gate.app.state)
    assert [c.args["channel"] for c in fake_slack.calls_to("chat.postMessage")] == ["UANN"]
    assert inbox.mails == []
    ann = audit(slack_gate, release["id"])["approvers"][0]
    assert ann["notified_at"] is not None
    assert ann["notify_error"].startswith("email: ValueError")


def test_a_known_user_whose_slack_id_cannot_be_one_gets_the_mail_once(
    slack_gate, source, inbox, fake_slack
) -> None:
    """An overlong metadata.slack_id failed the write after the mail on PostgreSQL, which
    left the approver claimed, to be mailed again after every lease."""
    db = slack_gate.app.state.db
    call(slack_gate, add_user, db, "bob-gh", metadata={"slack_id": "U" + "X" * 80})
    source.get(DEVX_URL).respond(json=[{**BOB, "email": "bob@example.com"}])
    release_id = post_release(slack_gate, RELEASE).json()["id"]
    later = utcnow() + timedelta(minutes=16)
    slack_gate.app.state.clock = lambda: later
    call(slack_gate, process_pending_releases, slack_gate.app.state)

    assert fake_slack.calls_to("chat.postMessage") == []
    assert len(inbox.to("bob@example.com")) == 1
    bob = audit(slack_gate, release_id)["approvers"][0]
    assert bob["notified_at"] is not None and bob["notify_error"] is None


def test_the_fallback_texts_are_escaped_like_the_blocks(
    slack_gate, source, inbox, fake_slack
) -> None:
    """Slack reads a message's `text` as mrkdwn too: a release name must not mention
    @channel or carry a link of its own in the notification."""
    evil = "<!channel> <https://evil.test|Approve>"
    source.get(DEVX_URL).respond(json=[ANN])
    post_release(slack_gate, {**RELEASE, "ReleaseName": evil})
    token = inbox.to("ann@example.com")[0].token
    slack_gate.post("/approval", params={"token": token})
    sent = [
        *fake_slack.calls_to("chat.postMessage"),
        *fake_slack.calls_to("chat.update"),
    ]
    assert len(sent) == 2
    for message in sent:
        shown = message.args["text"] + json.dumps(message.json_arg("blocks"))
        assert "<!channel>" not in shown and "<https://evil.test" not in shown
        assert "&lt;!channel&gt; &lt;https://evil.test|Approve&gt;" in message.args["text"]


def test_approval_links_in_slack_calls_never_reach_the_logs(
    slack_gate, source, inbox, fake_slack, caplog
) -> None:
    """slack_sdk logs every request's JSON and every answer at DEBUG (LOG_LEVEL=DEBUG):
    the DM's blocks carry the approval link."""
    caplog.set_level(logging.DEBUG)
    source.get(DEVX_URL).respond(json=[ANN])
    post_release(slack_gate, RELEASE)
    token = inbox.to("ann@example.com")[0].token
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    assert caplog.records  # the work did log
    assert not [r for r in caplog.records if token in r.getMessage()]
