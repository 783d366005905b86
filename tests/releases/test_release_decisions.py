"""Deciding by link: `decision` and `comment` from the query string, a form or a JSON
body; a conflict or an unknown value is 400 and records nothing. Both backends."""

from __future__ import annotations

import httpx
import pytest

from tests.releases.conftest import ANN, BOB, DEVX_URL, RELEASE
from tests.releases.helpers import HTML, audit, post_release


@pytest.fixture
def links(gate, source, inbox) -> dict:
    """A release with two approvers; their tokens and the release id."""
    source.get(DEVX_URL).mock(return_value=httpx.Response(200, json=[ANN, BOB]))
    release_id = post_release(gate, RELEASE).json()["id"]
    return {
        "release": release_id,
        "ann": inbox.to("ann@example.com")[0].token,
        "bob": inbox.to("bob@example.com")[0].token,
    }


def ann(gate, links) -> dict:
    return audit(gate, links["release"])["approvers"][0]


def test_reject_in_the_query_string_rejects(gate, links) -> None:
    """It used to record an approval: the query string was not read."""
    answer = gate.post("/approval?token=" + links["ann"] + "&decision=reject")
    assert answer.status_code == 200
    assert answer.json()["approver"]["decision"] == "rejected"
    assert audit(gate, links["release"])["status"] == "rejected"


@pytest.mark.parametrize(
    ("query", "kwargs", "decision", "comment"),
    [
        ({}, {}, "approved", None),  # nothing anywhere: approve
        ({"decision": "approve"}, {}, "approved", None),
        ({}, {"json": {"decision": "reject", "comment": "no"}}, "rejected", "no"),
        ({}, {"data": {"decision": "reject", "comment": "no"}}, "rejected", "no"),
        ({"comment": "fine by me"}, {}, "approved", "fine by me"),
        ({"decision": "reject"}, {"json": {"comment": "why not"}}, "rejected", "why not"),
        # The same value in two places is no conflict.
        ({"decision": "reject"}, {"data": {"decision": "reject"}}, "rejected", None),
        ({}, {"json": {"decision": None, "comment": "  "}}, "approved", None),
    ],
)
def test_decision_and_comment_from_anywhere(gate, links, query, kwargs, decision, comment) -> None:
    answer = gate.post("/approval", params={"token": links["ann"], **query}, **kwargs)
    assert answer.status_code == 200, answer.text
    assert answer.json()["approver"]["decision"] == decision
    assert answer.json()["approver"]["comment"] == comment
    shown = ann(gate, links)
    assert (shown["decision"], shown["comment"]) == (decision, comment)


@pytest.mark.parametrize(
    ("query", "kwargs", "field"),
    [
        ({"decision": "reject"}, {"json": {"decision": "approve"}}, "decision"),
        ({"decision": "approve"}, {"data": {"decision": "reject"}}, "decision"),
        ({"decision": ["approve", "reject"]}, {}, "decision"),
        ({"decision": "maybe"}, {}, "decision"),
        ({"decision": ""}, {}, "decision"),
        ({}, {"json": {"decision": ["reject"]}}, "decision"),
        ({}, {"data": {"decision": "REJECT"}}, "decision"),
        ({"comment": "a"}, {"json": {"comment": "b"}}, "comment"),
        ({}, {"json": {"comment": 42}}, "comment"),
        ({}, {"json": {"comment": "x" * 901}}, "comment"),
        ({"comment": "bell\x07"}, {}, "comment"),
    ],
)
def test_conflicting_or_unknown_values_are_400_and_record_nothing(
    gate, links, query, kwargs, field
) -> None:
    answer = gate.post("/approval", params={"token": links["ann"], **query}, **kwargs)
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["errors"]
    shown = ann(gate, links)
    assert (shown["decision"], shown["comment"]) == (None, None)
    assert audit(gate, links["release"])["status"] == "pending"


def test_a_comment_keeps_its_line_breaks_and_shows_on_the_page(gate, links) -> None:
    reason = "Not this week:\nthe migration is not reversible."
    answer = gate.post(
        "/approval", params={"token": links["bob"]}, data={"decision": "reject", "comment": reason}
    )
    assert answer.status_code == 200
    assert audit(gate, links["release"])["approvers"][1]["comment"] == reason
    page = gate.get("/approval", params={"token": links["bob"]}, headers=HTML).text
    assert "the migration is not reversible." in page
    listed = gate.get("/v1/releases").json()[0]
    assert listed["approvers"][1]["comment"] == reason


def test_the_page_form_has_a_comment_box(gate, links) -> None:
    page = gate.get("/approval", params={"token": links["ann"]}, headers=HTML).text
    assert '<textarea name="comment"' in page
