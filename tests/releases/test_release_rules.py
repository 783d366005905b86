"""The pure parts of the gate: policy, approvers parsing, tokens, SMTP URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.releases.approvers import Approver, ApproversError, approvers_url, parse_approvers
from bot.releases.mail import smtp_server
from bot.releases.policy import (
    Verdict,
    approvals_needed,
    judge_decision,
    release_status,
)
from bot.releases.tokens import approval_url, new_token, token_hash

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(hours=72)
LATER = NOW + timedelta(hours=1)


def release(needed: int | None = 2, fetched: bool = True, status: str = "pending") -> dict:
    return {
        "status": status,
        "approvals_needed": needed,
        "approvers_fetched_at": NOW if fetched else None,
        "created_at": NOW,
    }


def approver(decision: str | None = None, expires: datetime = NOW + TTL) -> dict:
    return {"decision": decision, "expires_at": expires}


@pytest.mark.parametrize(
    ("decisions", "needed", "expected"),
    [
        ([None, None], 2, "pending"),
        (["approved", None], 2, "pending"),
        (["approved", "approved"], 2, "approved"),
        (["approved", None, None], 1, "approved"),
        (["approved", "rejected"], 1, "rejected"),  # a rejection wins over enough approvals
        (["rejected", None], 2, "rejected"),
    ],
)
def test_status_from_decisions(decisions, needed, expected) -> None:
    rows = [approver(d) for d in decisions]
    assert release_status(release(needed), rows, LATER, TTL) == expected


def test_expired_once_the_live_tokens_cannot_reach_enough_approvals() -> None:
    soon, late = NOW + timedelta(hours=1), NOW + timedelta(hours=80)
    rows = [approver("approved"), approver(expires=soon), approver(expires=late)]
    at = NOW + timedelta(hours=2)
    assert release_status(release(2), rows, at, TTL) == "pending"  # the third can still approve
    assert release_status(release(3), rows, at, TTL) == "expired"  # two of three cannot do it
    assert release_status(release(2), rows, late, TTL) == "expired"


def test_a_decided_release_keeps_its_status() -> None:
    rows = [approver("rejected")]
    assert release_status(release(1, status="approved"), rows, LATER, TTL) == "approved"


def test_a_release_whose_approvers_never_came_expires_after_a_token_lifetime() -> None:
    unfetched = release(None, fetched=False)
    assert release_status(unfetched, [], NOW + TTL - timedelta(seconds=1), TTL) == "pending"
    assert release_status(unfetched, [], NOW + TTL, TTL) == "expired"


@pytest.mark.parametrize(
    ("count", "minimum", "needed"), [(3, None, 3), (3, 2, 2), (1, 2, 1), (4, 4, 4)]
)
def test_approvals_needed(count, minimum, needed) -> None:
    assert approvals_needed(count, minimum) == needed


@pytest.mark.parametrize(
    ("mine", "status", "wanted", "now", "verdict"),
    [
        (None, "pending", "approved", LATER, Verdict.RECORD),
        ("approved", "pending", "approved", LATER, Verdict.REPEAT),
        ("approved", "approved", "approved", NOW + 2 * TTL, Verdict.REPEAT),
        ("approved", "pending", "rejected", LATER, Verdict.CONFLICT),
        (None, "approved", "approved", LATER, Verdict.CONFLICT),
        (None, "pending", "approved", NOW + TTL, Verdict.GONE),
        (None, "expired", "rejected", NOW + 2 * TTL, Verdict.GONE),
    ],
)
def test_judge_decision(mine, status, wanted, now, verdict) -> None:
    assert judge_decision(approver(mine), status, wanted, now) is verdict


def test_parse_a_list_or_an_object() -> None:
    ann = {"name": "Ann", "email": "ann@example.com", "extra": 1}
    expected = [Approver(name="Ann", email="ann@example.com")]
    assert parse_approvers([ann]) == expected
    assert parse_approvers({"approvers": [ann], "team": "Devx"}) == expected


def test_duplicates_count_once() -> None:
    parsed = parse_approvers(
        [
            {"email": "Ann@Example.com"},
            {"email": "ann@example.com", "slack_id": "U1"},
            {"github_login": "bob"},
            {"github_login": "BOB", "name": "Bob"},
            {"slack_id": "U2"},
        ]
    )
    assert [a.label for a in parsed] == ["Ann@Example.com", "bob", "U2"]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("approvers", "neither a list"),
        ({"data": []}, "without an approvers list"),
        ({"approvers": "ann"}, "neither a list"),
        ([], "empty"),
        ([1], "approver 1 is not an object"),
        ([{}], "approver 1 has none of"),
        ([{"name": " "}], "approver 1 has none of"),
        ([{"email": "ann"}], "not an address"),
        ([{"email": "ann @example.com"}], "not an address"),
        # One entry, one mailbox: a list in it would mail one approver's token to others.
        ([{"email": "ann@example.com,eve@example.com"}], "not an address"),
        ([{"email": "ann@example.com;eve@example.com"}], "not an address"),
        ([{"email": "Ann <ann@example.com>"}], "not an address"),
        ([{"email": "ann@example.com@eve.test"}], "not an address"),
        ([{"email": "ann@example.com\nBcc: eve@example.com"}], "control characters"),
        ([{"name": "Ann\r\n"}, {"name": "Bo\x00b"}], "approver 2: name contains control"),
        ([{"name": "A"}, {"slack_id": ["U1"]}], "approver 2: slack_id must be a string"),
        ([{"name": "x" * 300}], "longer than 255"),
        ([{"email": f"u{i}@example.com"} for i in range(101)], "more than 100"),
    ],
)
def test_junk_is_refused_with_a_reason(payload, reason) -> None:
    with pytest.raises(ApproversError, match=reason):
        parse_approvers(payload)


def test_the_team_project_is_filled_in_escaped() -> None:
    template = "https://h.test/{TeamProject}/approvers?team={TeamProject}"
    assert approvers_url(template, "Core Team/1") == (
        "https://h.test/Core%20Team%2F1/approvers?team=Core%20Team%2F1"
    )
    assert approvers_url("https://h.test/all", "Devx") == "https://h.test/all"


def test_tokens_are_long_random_and_kept_as_a_hash() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) >= 43 for t in tokens)  # 32 bytes in URL-safe base64
    digest = token_hash("abc")
    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert approval_url("https://r.test/", "a-b_c") == "https://r.test/approval?token=a-b_c"


def test_smtp_urls() -> None:
    plain = smtp_server("smtp://mailer:p%40ss@mail.test:2525")
    assert (plain.hostname, plain.port, plain.use_tls) == ("mail.test", 2525, False)
    assert (plain.username, plain.password) == ("mailer", "p@ss")
    assert "p@ss" not in repr(plain)
    tls = smtp_server("smtps://mail.test")
    assert (tls.port, tls.use_tls, tls.username) == (465, True, None)
    assert smtp_server("smtp://mail.test").port == 25
