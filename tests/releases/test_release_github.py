"""The gate as a GitHub custom deployment protection rule, on both backends.

A signed `deployment_protection_rule` delivery (tests/payloads) goes through
POST /github/webhooks; the approvers come from a respx-mocked source; GitHub's API is
tests/fake_github.py (App JWT, installation tokens, the run's review endpoint), which
records every review it receives; mail goes through a real SMTP server on loopback.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jsonschema import Draft202012Validator

from bot.releases.messages import REASON_BLOCK, REASON_INPUT, REJECT_ACTION, REJECT_VIEW
from bot.releases.tokens import token_hash
from bot.releases.work import process_pending_releases
from bot.store import releases as store
from bot.store.tables import release_approvers
from tests.factories import add_user
from tests.fake_github import APP_ID, BASE_URL, Clock, FakeGitHub
from tests.releases.helpers import HTML, audit, call, wait_for
from tests.slack_signing import button_click, view_submission
from tests.webhook_client import deliver, payload

EVENT = "deployment_protection_rule"
REPO = "Codertocat/Hello-World"
RUN_ID = 6234567890
CALLBACK_PATH = f"/repos/{REPO}/actions/runs/{RUN_ID}/deployment_protection_rule"
APPROVERS = "https://approvers.test/teams/{TeamProject}/approvers?environment={Environment}"
SOURCE_URL = "https://approvers.test/teams/Codertocat%2FHello-World/approvers"
ANA = {"name": "Ana", "email": "ana@example.com"}
BOB = {"name": "Bob", "email": "bob@example.com"}
CREATOR = {"name": "Octo", "github_login": "codertocat", "email": "octo@example.com"}


@pytest.fixture(scope="session")
def app_key() -> tuple[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def github(app_key, clock, source) -> FakeGitHub:
    """GitHub's API on the same respx router as the approvers source."""
    fake = FakeGitHub(app_key[1], clock)
    fake.add_repo("Codertocat", "Hello-World", installation_id=1)
    fake.mount(source)
    return fake


@pytest.fixture
def github_env(app_key) -> dict[str, str]:
    return {
        "GITHUB_APP_ID": APP_ID,
        "GITHUB_PRIVATE_KEY": app_key[0],
        "GITHUB_API_URL": BASE_URL,
        "APPROVERS_URL": APPROVERS,
    }


@pytest.fixture
def gate(make_client, github_env, github, clock):
    client = make_client(**github_env)
    client.app.state.clock = clock
    return client


def deployment(**changes: Any) -> dict[str, Any]:
    data = payload(f"{EVENT}/requested")
    data["deployment_callback_url"] = BASE_URL + CALLBACK_PATH
    data.update(changes)
    return data


def approvers_answer(source, *approvers):
    return source.get(url__startswith=SOURCE_URL).mock(
        return_value=httpx.Response(200, json=list(approvers))
    )


def reviews(github: FakeGitHub) -> list[dict]:
    """The bodies GitHub took (204) at the run's review endpoint, in order."""
    return [r.body for r in github.deployment_reviews if r.status == 204]


def release_of(gate) -> dict:
    [release] = gate.get("/v1/releases").json()
    return release


def test_a_signed_delivery_opens_a_release_and_ends_in_an_approved_callback(
    gate, source, github, inbox
) -> None:
    route = approvers_answer(source, ANA, BOB, CREATOR)
    guid = "d1e2a3b4-0000-4000-8000-000000000001"
    answer = deliver(gate, EVENT, deployment(), guid=guid)
    assert answer.status_code == 200, answer.text
    assert answer.json()["detail"] == "applied"

    # The approvers source was asked with the team project and the environment.
    asked = urlsplit(str(route.calls.last.request.url))
    assert asked.path == "/teams/Codertocat%2FHello-World/approvers"
    assert parse_qs(asked.query) == {"environment": ["production"]}

    release = release_of(gate)
    assert (release["TeamProject"], release["ReleaseId"], release["ReleaseName"]) == (
        REPO,
        f"{RUN_ID}/production",
        "production ← main",
    )
    assert release["source"] == "github"
    assert release["details"]["run_url"] == f"https://github.com/{REPO}/actions/runs/{RUN_ID}"
    assert release["details"]["left_out"] == ["Octo"]
    assert release["approvals_needed"] == 2
    assert release["callback"] == "waiting"
    # The creator is never asked.
    assert sorted(r for m in inbox.mails for r in m.recipients) == [
        "ana@example.com",
        "bob@example.com",
    ]
    mail = inbox.to("ana@example.com")[0]
    assert "Deployment of main to production (Codertocat/Hello-World)" in mail.message["Subject"]
    assert f"https://github.com/{REPO}/actions/runs/{RUN_ID}" in mail.text

    # The same delivery again (GitHub's retry) is not applied twice.
    again = deliver(gate, EVENT, deployment(), guid=guid)
    assert again.json()["detail"] == "duplicate"
    assert len(inbox.mails) == 2 and route.call_count == 1

    ana = gate.post(
        "/approval", params={"token": mail.token}, json={"decision": "approve", "comment": "LGTM"}
    )
    assert ana.status_code == 200
    assert reviews(github) == [
        {"environment_name": "production", "comment": "1 of 2 approvals: Ana approved (LGTM)"}
    ]
    bob = gate.post("/approval", params={"token": inbox.to("bob@example.com")[0].token})
    assert bob.json()["status"] == "approved"
    assert reviews(github)[1:] == [
        {
            "environment_name": "production",
            "state": "approved",
            "comment": "Approved in Reviewer: 2 of 2 approvals (Ana: LGTM; Bob).",
        }
    ]
    # As the installation: with an installation token GitHub issued to the App.
    assert all(r.auth.startswith("token ghs_fake") for r in github.deployment_reviews)
    record = audit(gate, release["id"])
    assert record["callback"] == "delivered"
    assert [(c["final"], c["state"], c["attempts"]) for c in record["callbacks"]] == [
        (False, "delivered", 1),
        (True, "delivered", 1),
    ]
    assert record["approvers"][0]["comment"] == "LGTM"

    # Nothing is sent twice, whatever the job does afterwards.
    call(gate, process_pending_releases, gate.app.state)
    assert len(github.deployment_reviews) == 2


def test_a_rejection_sends_its_reason(gate, source, github, inbox) -> None:
    approvers_answer(source, ANA, BOB)
    deliver(gate, EVENT, deployment())
    token = inbox.to("bob@example.com")[0].token
    rejected = gate.post(
        "/approval",
        params={"token": token, "decision": "reject", "comment": "breaks the schema"},
    )
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    assert reviews(github) == [
        {
            "environment_name": "production",
            "state": "rejected",
            "comment": "Rejected in Reviewer by Bob: breaks the schema.",
        }
    ]
    record = release_of(gate)
    assert record["rejected_by"] == ["Bob"]
    assert record["approvers"][1]["comment"] == "breaks the schema"
    page = gate.get("/approval", params={"token": token}, headers=HTML).text
    assert "breaks the schema" in page
    # Ana's link now meets a decided release; GitHub hears nothing more.
    late = gate.post("/approval", params={"token": inbox.to("ana@example.com")[0].token})
    assert late.status_code == 409
    assert len(github.deployment_reviews) == 1


def test_the_creator_is_never_asked_and_never_counted(gate, source, github, inbox) -> None:
    db = gate.app.state.db
    # We know the creator (by GitHub id) with a Slack id and a mail address of theirs.
    creator = payload(f"{EVENT}/requested")["deployment"]["creator"]
    metadata = {"slack_id": "UOCTO", "email": "OCTO@example.com"}
    call(gate, add_user, db, "Codertocat", github_id=creator["id"], metadata=metadata)
    approvers_answer(
        source,
        ANA,
        {"name": "Octo by Slack", "slack_id": "UOCTO"},
        {"name": "Octo by mail", "email": "octo@example.com"},
        {"name": "Octo by login", "github_login": "CoderToCat"},
    )
    deliver(gate, EVENT, deployment())
    release = release_of(gate)
    assert [a["name"] for a in release["approvers"]] == ["Ana"]
    assert release["approvals_needed"] == 1
    assert release["details"]["left_out"] == ["Octo by Slack", "Octo by mail", "Octo by login"]
    assert [m.recipients for m in inbox.mails] == [["ana@example.com"]]


def test_a_creator_who_slipped_through_cannot_decide_by_link(gate, source, github, inbox) -> None:
    """One stored before being recognised (a renamed login, say) is refused at the link."""
    approvers_answer(source, ANA, BOB)
    deliver(gate, EVENT, deployment())
    db = gate.app.state.db
    release = release_of(gate)
    bob = release["approvers"][1]
    call(
        gate,
        db.execute,
        release_approvers.update()
        .where(release_approvers.c.id == bob["id"])
        .values(github_login="codertocat", token_hash=token_hash("creator-link")),
    )
    refused = gate.post("/approval", params={"token": "creator-link"})
    assert refused.status_code == 403
    assert "creator" in refused.json()["detail"]
    assert audit(gate, release["id"])["approvers"][1]["decision"] is None
    assert github.deployment_reviews == []


def test_only_the_rule_s_callback_under_github_api_url_is_used(
    gate, source, github, inbox, caplog
) -> None:
    approvers_answer(source, ANA)
    for url in (
        f"https://evil.test/api/v3{CALLBACK_PATH}",
        f"https://github.test/api/v3/repos/someone/else/actions/runs/{RUN_ID}"
        "/deployment_protection_rule",
        f"https://github.test/api/v3{CALLBACK_PATH}?next=https://evil.test",
        f"https://user@github.test/api/v3{CALLBACK_PATH}",
    ):
        caplog.clear()
        answer = deliver(gate, EVENT, deployment(deployment_callback_url=url))
        assert answer.status_code == 422, url
        assert "deployment_callback_url" in answer.json()["detail"]
        assert any(r.getMessage() == "deployment callback URL refused" for r in caplog.records), url
    assert gate.get("/v1/releases").json() == []
    assert inbox.mails == [] and github.calls == []


def test_a_callback_that_fails_twice_then_lands_once(gate, source, github, inbox) -> None:
    approvers_answer(source, ANA)
    deliver(gate, EVENT, deployment())
    github.fail_next("POST", "deployment_protection_rule", status=502, times=1)
    github.fail_next("POST", "deployment_protection_rule", exception=httpx.ReadTimeout, times=1)
    done = gate.post("/approval", params={"token": inbox.mails[0].token})
    assert done.json()["status"] == "approved"
    tried = [c.status for c in github.calls_to("deployment_protection_rule")]
    assert tried == [502, 502, 204]  # a fault is recorded as 502 even when it timed out
    assert [r["state"] for r in reviews(github)] == ["approved"]
    record = release_of(gate)
    [callback] = record["callbacks"]
    assert (callback["state"], callback["attempts"], callback["error"]) == ("delivered", 3, None)


def test_github_down_keeps_the_decision_until_it_takes_it(
    gate, source, github, inbox, clock
) -> None:
    approvers_answer(source, ANA)
    deliver(gate, EVENT, deployment())
    github.fail_next("POST", "deployment_protection_rule", status=503, times=4)
    gate.post("/approval", params={"token": inbox.mails[0].token})
    record = release_of(gate)
    assert record["status"] == "approved"
    assert record["callback"] == "pending"
    [callback] = record["callbacks"]
    assert (callback["attempts"], callback["error"]) == (3, "GitHub answered 503: x")

    # GitHub asking again meanwhile queues nothing more: the decision is on its way.
    assert deliver(gate, EVENT, deployment()).status_code == 200
    assert len(release_of(gate)["callbacks"]) == 1

    # The job leaves it alone until its backoff has passed, then tries again.
    call(gate, process_pending_releases, gate.app.state)
    assert len(github.calls_to("deployment_protection_rule")) == 3
    clock.advance(minutes=1, seconds=1)
    summary = call(gate, process_pending_releases, gate.app.state)
    assert summary["callbacks"] == {"delivered": 1, "refused": 0, "failed": 0}
    assert [c.status for c in github.calls_to("deployment_protection_rule")] == [503] * 4 + [204]
    assert release_of(gate)["callback"] == "delivered"
    clock.advance(hours=1)
    call(gate, process_pending_releases, gate.app.state)
    assert len(reviews(github)) == 1


def test_a_refusing_github_is_recorded_not_retried(gate, source, github, inbox, clock) -> None:
    approvers_answer(source, ANA)
    deliver(gate, EVENT, deployment())
    github.repos[REPO.lower()].installation_id = 99  # the App lost this repository
    gate.post("/approval", params={"token": inbox.mails[0].token})
    record = release_of(gate)
    assert record["callback"] == "refused"
    assert record["callbacks"][0]["error"].startswith("GitHub answered 404")
    clock.advance(hours=2)
    call(gate, process_pending_releases, gate.app.state)
    assert len(github.calls_to("deployment_protection_rule")) == 1


def test_an_expired_deployment_is_rejected_on_github(gate, source, github, inbox, clock) -> None:
    approvers_answer(source, ANA, BOB)
    deliver(gate, EVENT, deployment())
    gate.post("/approval", params={"token": inbox.to("ana@example.com")[0].token})
    clock.advance(hours=73)
    call(gate, process_pending_releases, gate.app.state)
    assert [r.get("state") for r in reviews(github)] == [None, "rejected"]
    assert reviews(github)[1]["comment"] == (
        "Expired in Reviewer: no decision in time (1 of 2 approvals)."
    )


def test_a_re_run_asks_again_and_gets_the_same_answer(gate, source, github, inbox) -> None:
    approvers_answer(source, ANA)
    deliver(gate, EVENT, deployment())
    gate.post("/approval", params={"token": inbox.mails[0].token})
    assert [r["state"] for r in reviews(github)] == ["approved"]
    github.deployment_reviews.clear()  # GitHub waits again for the re-run
    github.reset_calls()
    assert deliver(gate, EVENT, deployment()).status_code == 200
    assert [r["state"] for r in reviews(github)] == ["approved"]
    assert len(gate.get("/v1/releases").json()) == 1 and len(inbox.mails) == 1


def test_malformed_deliveries_are_422_and_open_nothing(gate, source, github) -> None:
    for changes in (
        {"environment": None},
        {"deployment": {"creator": {"login": "x"}}},
        {"deployment_callback_url": 42},
        {"installation": {}},
        {"environment": "x" * 201},
    ):
        answer = deliver(gate, EVENT, deployment(**changes))
        assert answer.status_code == 422, changes
    assert gate.get("/v1/releases").json() == []


def test_log_lines_carry_no_installation_token(gate, source, github, inbox, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    approvers_answer(source, ANA)
    deliver(gate, EVENT, deployment())
    gate.post("/approval", params={"token": inbox.mails[0].token})
    tokens = list(github.tokens)
    assert tokens
    assert any(r.getMessage() == "release callback delivered" for r in caplog.records)
    assert not [r for r in caplog.records if any(t in r.getMessage() for t in tokens)]
    stored = call(gate, store.list_releases, gate.app.state.db, 0, 10)[1][0]
    assert not any(t in str(stored) for t in tokens)


def test_the_slack_dm_names_the_deployment_and_a_rejection_carries_its_reason(
    make_client, github_env, github, clock, source, inbox, fake_slack
) -> None:
    gate = make_client(**github_env, **fake_slack.env())
    gate.app.state.clock = clock
    approvers_answer(source, {"name": "Ana", "slack_id": "UANA"}, BOB)
    deliver(gate, EVENT, deployment())
    [dm] = fake_slack.calls_to("chat.postMessage")
    shown = dm.args["text"] + json.dumps(dm.json_arg("blocks"))
    for part in (REPO, "production", "main", f"<https://github.com/{REPO}/actions/runs/{RUN_ID}|"):
        assert part in shown, part

    ana = next(a for a in release_of(gate)["approvers"] if a["name"] == "Ana")
    channel = call(gate, store.get_approver, gate.app.state.db, ana["id"])["slack_channel"]
    body, headers = button_click(
        fake_slack.response_url(), REJECT_ACTION, str(ana["id"]), "UANA", channel
    )
    gate.post("/slack/events", content=body, headers=headers)
    wait_for(lambda: len(fake_slack.calls_to("views.open")) == 1)
    assert reviews(github) == []
    values = {REASON_BLOCK: {REASON_INPUT: {"type": "plain_text_input", "value": "Red smoke"}}}
    body, headers = view_submission(REJECT_VIEW, str(ana["id"]), values, "UANA")
    gate.post("/slack/events", content=body, headers=headers)
    wait_for(lambda: len(reviews(github)) == 1)
    assert reviews(github) == [
        {
            "environment_name": "production",
            "state": "rejected",
            "comment": "Rejected in Reviewer by Ana: Red smoke.",
        }
    ]


def test_the_audit_of_a_deployment_matches_the_openapi_description(
    gate, source, github, inbox
) -> None:
    spec = gate.get("/docs.json").json()

    def check(name: str, instance: Any) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
        errors = list(Draft202012Validator(schema).iter_errors(instance))
        assert not errors, [e.message for e in errors]

    approvers_answer(source, ANA, BOB)
    deliver(gate, EVENT, deployment())
    check("Release", release_of(gate))
    token = inbox.to("ana@example.com")[0].token
    check("Approval", gate.post("/approval", params={"token": token, "comment": "ok"}).json())
    record = release_of(gate)
    assert record["callbacks"][0]["state"] == "delivered"
    check("Release", record)
    with pytest.raises(AssertionError):
        check("Release", {**record, "callback": "lost"})
