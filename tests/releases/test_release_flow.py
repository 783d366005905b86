"""The release gate end to end over HTTP, on both backends: POST /release, the mail
through a real SMTP server, the approval link, the form, the policy and the audit."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest
from jsonschema import Draft202012Validator

from bot.logs import JSONFormatter
from bot.releases.work import process_pending_releases
from bot.store import releases as store
from bot.store.clock import utcnow
from tests.releases.conftest import ANN, BOB, DEVX_URL, RELEASE
from tests.releases.helpers import AUTH, HTML, audit, call, post_release


def approvers_answer(source, *approvers, wrapped: bool = False):
    body = {"approvers": list(approvers)} if wrapped else list(approvers)
    return source.get(DEVX_URL).mock(return_value=httpx.Response(200, json=body))


def test_new_release_is_202_and_each_approver_gets_one_mail(gate, source, inbox) -> None:
    route = approvers_answer(source, ANN, BOB, wrapped=True)
    response = post_release(gate, RELEASE)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "pending"
    assert body["approvals"] == 0
    assert (body["ReleaseName"], body["ReleaseId"], body["TeamProject"]) == (
        "Desafio-CD",
        "386",
        "Devx",
    )
    assert response.headers["location"] == f"/v1/releases/{body['id']}"
    assert route.call_count == 1

    assert sorted(r for m in inbox.mails for r in m.recipients) == [
        "ann@example.com",
        "bob@example.com",
    ]
    mail = inbox.to("ann@example.com")[0]
    assert mail.message["From"] == "Reviewer <reviewer@example.com>"
    assert "Desafio-CD" in mail.message["Subject"]
    for part in (mail.text, mail.html):
        assert "Desafio-CD" in part and "386" in part and "Devx" in part
        assert f"http://reviewer.test/approval?token={mail.token}" in part
    assert inbox.to("bob@example.com")[0].token != mail.token

    record = audit(gate, body["id"])
    assert record["approvals_needed"] == 2
    assert record["attempts"] == 1
    assert record["approvers_error"] is None
    assert [(a["name"], a["decision"], a["notify_error"]) for a in record["approvers"]] == [
        ("Ann", None, None),
        ("Bob", None, None),
    ]
    assert all(a["notified_at"] for a in record["approvers"])


def test_approval_by_link_then_the_pipeline_sees_approved(gate, source, inbox) -> None:
    approvers_answer(source, ANN, BOB)
    release_id = post_release(gate, RELEASE).json()["id"]
    ann, bob = inbox.to("ann@example.com")[0].token, inbox.to("bob@example.com")[0].token

    first = gate.post("/approval", params={"token": ann}, json={"decision": "approve"})
    assert first.status_code == 200
    assert first.json()["status"] == "pending"
    assert first.json()["approver"]["decision"] == "approved"
    polled = post_release(gate, RELEASE)
    assert polled.status_code == 200
    assert polled.json()["status"] == "pending"
    assert (polled.json()["approvals"], polled.json()["approvals_needed"]) == (1, 2)

    second = gate.post("/approval", params={"token": bob})  # no body: approve
    assert second.status_code == 200
    assert second.json()["status"] == "approved"

    final = post_release(gate, RELEASE).json()
    assert final["status"] == "approved"
    assert final["approved_by"] == ["Ann", "Bob"]
    assert final["decided_at"] is not None
    channels = [(a["decision"], a["channel"]) for a in audit(gate, release_id)["approvers"]]
    assert channels == [("approved", "link"), ("approved", "link")]


def test_approving_twice_is_idempotent(gate, source, inbox) -> None:
    approvers_answer(source, ANN, BOB)
    release_id = post_release(gate, RELEASE).json()["id"]
    token = inbox.to("ann@example.com")[0].token
    first = gate.post("/approval", params={"token": token}, json={"decision": "approve"})
    again = gate.post("/approval", params={"token": token}, json={"decision": "approve"})
    assert first.status_code == again.status_code == 200
    assert first.json()["approver"] == again.json()["approver"]
    assert audit(gate, release_id)["approvals"] == 1


def test_the_html_page_and_its_form(gate, source, inbox) -> None:
    approvers_answer(source, ANN)
    release_id = post_release(gate, RELEASE).json()["id"]
    token = inbox.to("ann@example.com")[0].token

    page = gate.get("/approval", params={"token": token}, headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert 'method="post"' in page.text
    assert 'value="approve"' in page.text and 'value="reject"' in page.text
    assert "Desafio-CD" in page.text

    # A browser posts the form back to the same URL.
    done = gate.post(
        "/approval", params={"token": token}, data={"decision": "approve"}, headers=HTML
    )
    assert done.status_code == 200
    assert "Recorded: you approved it." in done.text
    assert 'value="approve"' not in done.text  # no buttons once decided
    record = audit(gate, release_id)
    assert record["status"] == "approved"
    assert record["approvers"][0]["channel"] == "form"


def test_get_never_decides_anything(gate, source, inbox) -> None:
    approvers_answer(source, ANN)
    release_id = post_release(gate, RELEASE).json()["id"]
    token = inbox.to("ann@example.com")[0].token
    for headers in ({}, HTML, {"Accept": "*/*"}, {"Accept": "application/json"}):
        for _ in range(3):
            assert gate.get("/approval", params={"token": token}, headers=headers).is_success
    shown = gate.get("/approval", params={"token": token}).json()
    assert shown["status"] == "pending"
    assert shown["approver"]["decision"] is None
    assert shown["release"]["ReleaseName"] == "Desafio-CD"
    assert shown["approver"]["name"] == "Ann"
    record = audit(gate, release_id)
    assert record["status"] == "pending"
    assert record["approvers"][0]["decision"] is None


def test_one_rejection_rejects_and_later_decisions_are_409(gate, source, inbox) -> None:
    approvers_answer(source, ANN, BOB)
    release_id = post_release(gate, RELEASE).json()["id"]
    ann, bob = inbox.to("ann@example.com")[0].token, inbox.to("bob@example.com")[0].token
    assert gate.post("/approval", params={"token": ann}).status_code == 200
    rejected = gate.post("/approval", params={"token": bob}, json={"decision": "reject"})
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"

    late = gate.post("/approval", params={"token": bob}, json={"decision": "approve"})
    assert late.status_code == 409
    assert late.json()["detail"] == "you already rejected this release"
    changed = gate.post("/approval", params={"token": ann}, json={"decision": "reject"})
    assert changed.status_code == 409

    polled = post_release(gate, RELEASE).json()
    assert (polled["status"], polled["rejected_by"], polled["approved_by"]) == (
        "rejected",
        ["Bob"],
        ["Ann"],
    )
    assert audit(gate, release_id)["approvers"][1]["decision"] == "rejected"


def test_min_approvals_approve_before_everyone_did(make_client, source, inbox) -> None:
    gate = make_client(RELEASE_MIN_APPROVALS="2")
    carol = {"name": "Carol", "email": "carol@example.com"}
    approvers_answer(source, ANN, BOB, carol)
    release = post_release(gate, RELEASE).json()
    assert post_release(gate, RELEASE).json()["approvals_needed"] == 2
    gate.post("/approval", params={"token": inbox.to("ann@example.com")[0].token})
    assert post_release(gate, RELEASE).json()["status"] == "pending"
    gate.post("/approval", params={"token": inbox.to("carol@example.com")[0].token})
    assert post_release(gate, RELEASE).json()["status"] == "approved"
    late = gate.post("/approval", params={"token": inbox.to("bob@example.com")[0].token})
    assert late.status_code == 409
    assert late.json()["detail"] == "the release is already approved"
    assert audit(gate, release["id"])["approvers"][1]["decision"] is None


def test_min_approvals_above_the_number_of_approvers_needs_them_all(
    make_client, source, inbox
) -> None:
    gate = make_client(RELEASE_MIN_APPROVALS="5")
    approvers_answer(source, ANN)
    post_release(gate, RELEASE)
    assert post_release(gate, RELEASE).json()["approvals_needed"] == 1


def test_tokens_expire_and_so_does_the_release(gate, source, inbox) -> None:
    approvers_answer(source, ANN, BOB)
    release_id = post_release(gate, RELEASE).json()["id"]
    ann, bob = inbox.to("ann@example.com")[0].token, inbox.to("bob@example.com")[0].token
    assert gate.post("/approval", params={"token": ann}).status_code == 200

    later = utcnow() + timedelta(hours=72, minutes=1)
    gate.app.state.clock = lambda: later
    assert gate.get("/approval", params={"token": bob}).status_code == 410
    expired = gate.post("/approval", params={"token": bob})
    assert expired.status_code == 410
    assert expired.json() == {"detail": "this approval link has expired"}
    assert gate.get("/approval", params={"token": bob}, headers=HTML).status_code == 410

    polled = post_release(gate, RELEASE)
    assert polled.status_code == 200
    assert polled.json()["status"] == "expired"
    record = audit(gate, release_id)
    assert record["status"] == "expired"
    assert record["approvers"][1]["decision"] is None


def test_a_token_still_valid_just_before_expiry(make_client, source, inbox) -> None:
    gate = make_client(RELEASE_TOKEN_TTL_HOURS="1")
    approvers_answer(source, ANN)
    post_release(gate, RELEASE)
    token = inbox.to("ann@example.com")[0].token
    soon = utcnow() + timedelta(minutes=59)
    gate.app.state.clock = lambda: soon
    assert gate.post("/approval", params={"token": token}).json()["status"] == "approved"


def test_approval_token_errors(gate, source, inbox) -> None:
    approvers_answer(source, ANN)
    post_release(gate, RELEASE)
    token = inbox.to("ann@example.com")[0].token
    assert gate.get("/approval").status_code == 401
    assert gate.post("/approval?token=").status_code == 401
    unknown = gate.get("/approval", params={"token": "not-a-token"})
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "approval token not found"}
    assert gate.post("/approval", params={"token": "x" * 43}).status_code == 404
    bad = gate.post("/approval", params={"token": token}, json={"decision": "maybe"})
    assert bad.status_code == 400
    assert "decision" in bad.json()["errors"]
    assert gate.post("/approval", params={"token": token}, json=["approve"]).status_code == 400
    deep = gate.post("/approval", params={"token": token}, content=b"[" * 5000)
    assert deep.status_code == 400
    assert (
        gate.post(
            "/approval", params={"token": token}, content=b"x", headers={"Content-Type": "text/xml"}
        ).status_code
        == 415
    )
    assert gate.get("/approval", params={"token": token}).json()["status"] == "pending"


@pytest.mark.parametrize("field", ["ReleaseName", "ReleaseId", "TeamProject"])
@pytest.mark.parametrize("value", ["<missing>", None, 386, ["x"], {"a": 1}, True, ""])
def test_post_release_names_a_missing_or_non_string_field(gate, source, field, value) -> None:
    body = dict(RELEASE)
    if value == "<missing>":
        del body[field]
    else:
        body[field] = value
    response = post_release(gate, body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert field in response.json()["detail"]
    assert gate.get("/v1/releases").json() == []


@pytest.mark.parametrize("field", ["ReleaseName", "ReleaseId", "TeamProject"])
@pytest.mark.parametrize("value", ["a\x00b", "a\nb", "a\r\nBcc: eve@example.com", "\x7f"])
def test_post_release_refuses_control_characters(gate, source, inbox, field, value) -> None:
    """A NUL cannot be stored by PostgreSQL (it was a 500); a line break in a name cannot
    go into a mail header (it left every approver claimed and never notified)."""
    route = approvers_answer(source, ANN)
    response = post_release(gate, {**RELEASE, field: value})
    assert response.status_code == 400
    assert response.json()["errors"] == {field: "must not contain control characters"}
    assert gate.get("/v1/releases").json() == []
    assert route.call_count == 0 and inbox.mails == []


def test_post_release_needs_a_json_object(gate) -> None:
    for content in (b"", b"nope", b"[1]", b"[" * 100_000):
        response = gate.post("/release", content=content, headers=AUTH)
        assert response.status_code == 400
        assert "detail" in response.json()


def test_post_release_needs_the_api_token(gate, source) -> None:
    route = approvers_answer(source, ANN)
    assert gate.post("/release", json=RELEASE).status_code == 401
    wrong = gate.post("/release", json=RELEASE, headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 403
    assert "wrong" not in wrong.text
    assert gate.get("/v1/releases").json() == []
    assert route.call_count == 0


def test_the_audit_lists_every_release_newest_first(gate, source, inbox) -> None:
    approvers_answer(source, ANN)
    first = post_release(gate, RELEASE).json()["id"]
    second = post_release(gate, {**RELEASE, "ReleaseId": "387"}).json()["id"]
    gate.post("/approval", params={"token": inbox.mails[0].token})
    listed = gate.get("/v1/releases")
    assert listed.status_code == 200
    assert listed.headers["x-total-count"] == "2"
    assert [r["id"] for r in listed.json()] == [second, first]
    decided = listed.json()[1]
    assert decided["approvers"][0]["decision"] == "approved"
    assert decided["approvers"][0]["channel"] == "link"
    assert decided["approvers"][0]["decided_at"].endswith("Z")
    assert gate.get("/v1/releases/999").status_code == 404
    assert gate.get("/v1/releases?per_page=1").json()[0]["id"] == second


def test_the_same_release_id_in_another_team_is_another_release(gate, source, inbox) -> None:
    approvers_answer(source, ANN)
    other = source.get("https://approvers.test/teams/Core%20Team/approvers").mock(
        return_value=httpx.Response(200, json=[BOB])
    )
    devx = post_release(gate, RELEASE)
    core = post_release(gate, {**RELEASE, "TeamProject": "Core Team"})
    assert devx.status_code == core.status_code == 202
    assert devx.json()["id"] != core.json()["id"]
    assert other.call_count == 1
    assert [m.recipients for m in inbox.mails] == [["ann@example.com"], ["bob@example.com"]]


def test_the_answers_match_the_openapi_description(gate, source, inbox) -> None:
    spec = gate.get("/docs.json").json()

    def check(name: str, instance) -> None:
        schema = {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
        errors = list(Draft202012Validator(schema).iter_errors(instance))
        assert not errors, [e.message for e in errors]

    approvers_answer(source, ANN, {"name": "Eve", "slack_id": "UEVE"})
    check("ReleaseStatus", post_release(gate, RELEASE).json())
    token = inbox.to("ann@example.com")[0].token
    check("Approval", gate.get("/approval", params={"token": token}).json())
    check("Approval", gate.post("/approval", params={"token": token}).json())
    check("ReleaseStatus", post_release(gate, RELEASE).json())
    release = gate.get("/v1/releases").json()[0]
    check("Release", release)
    check("Release", audit(gate, release["id"]))
    check("Error", gate.get("/approval", params={"token": "nope"}).json())
    # The schema is strict enough to notice a wrong shape.
    with pytest.raises(AssertionError):
        check("Release", {**release, "approvers": [{"decision": "maybe"}]})


def test_names_are_escaped_in_the_page_and_the_mail(gate, source, inbox) -> None:
    evil = "<script>alert(1)</script>"
    source.get("https://approvers.test/teams/Devx/approvers").respond(
        json=[{"name": evil, "email": "ann@example.com"}]
    )
    post_release(gate, {**RELEASE, "ReleaseName": evil})
    mail = inbox.mails[0]
    assert evil not in mail.html
    assert "&lt;script&gt;" in mail.html
    page = gate.get("/approval", params={"token": mail.token}, headers=HTML).text
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert (
        "default-src 'none'"
        in gate.get("/approval", params={"token": mail.token}, headers=HTML).headers[
            "content-security-policy"
        ]
    )


def test_approval_tokens_never_reach_the_logs(gate, source, inbox, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    source.get(DEVX_URL).side_effect = [httpx.Response(503), httpx.Response(200, json=[ANN])]
    post_release(gate, RELEASE)
    token = inbox.mails[0].token
    gate.get("/approval", params={"token": token}, headers=HTML)
    gate.post("/approval", params={"token": token}, json={"decision": "approve"})
    gate.post("/approval", params={"token": token + "x"})
    formatter = JSONFormatter()
    # The test's own HTTP client logs the URLs it requests; the service's lines are checked.
    ours = [r for r in caplog.records if "http://testserver" not in r.getMessage()]
    lines = [formatter.format(record) for record in ours]
    assert any('"approver notified"' in line for line in lines)  # the work did log
    assert not [line for line in lines if token in line or "test-api-token" in line]


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/v1/releases/%C2%B2", 404),  # "²" passes str.isdigit, not int()
        ("/v1/releases/" + "9" * 5000, 404),  # more digits than int() converts
        ("/v1/releases?per_page=%C2%B2", 400),
        ("/v1/releases?page=" + "9" * 30, 400),  # an offset beyond 64 bits
        ("/v1/releases?page=" + "9" * 5000, 400),
    ],
)
def test_odd_ids_and_pages_are_4xx(gate, url, status) -> None:
    response = gate.get(url)
    assert response.status_code == status
    assert "detail" in response.json()


def test_the_audit_shows_expiry_without_storing_it(gate, source, inbox) -> None:
    """GETs change nothing: the audit shows the status as of now; the job stores it."""
    approvers_answer(source, ANN)
    release_id = post_release(gate, RELEASE).json()["id"]
    later = utcnow() + timedelta(hours=73)
    gate.app.state.clock = lambda: later
    assert gate.get(f"/v1/releases/{release_id}").json()["status"] == "expired"
    assert gate.get("/v1/releases").json()[0]["status"] == "expired"
    db = gate.app.state.db
    stored = call(gate, store.get_release, db, release_id)
    assert (stored["status"], stored["decided_at"]) == ("pending", None)

    call(gate, process_pending_releases, gate.app.state)
    stored = call(gate, store.get_release, db, release_id)
    assert (stored["status"], stored["decided_at"]) == ("expired", later)


def test_polling_a_known_release_is_two_reads_and_no_write(gate, source, inbox) -> None:
    """A poll is two reads (the release, its approvers); it tried an INSERT before,
    which on PostgreSQL spent an id of the sequence at every poll."""
    approvers_answer(source, ANN)
    first = post_release(gate, RELEASE).json()["id"]
    db = gate.app.state.db
    before = db.query_count
    for _ in range(5):
        assert post_release(gate, RELEASE).status_code == 200
    assert db.query_count - before == 5 * 2
    second = post_release(gate, {**RELEASE, "ReleaseId": "387"}).json()["id"]
    assert second == first + 1


def test_post_release_ignores_fields_it_does_not_read(gate, source) -> None:
    """A pipeline's body may carry more of the release's fields (as it always could)."""
    approvers_answer(source, ANN)
    response = post_release(gate, {**RELEASE, "ReleaseUrl": "https://dev.azure.com/r/386"})
    assert response.status_code == 202
    assert response.json()["ReleaseId"] == "386"
