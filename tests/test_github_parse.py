"""GitHub objects and deliveries to our shapes (pure), with the shared real payloads."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.github import parse
from bot.github.shapes import GitHubUser, PullRequest, Repository, Review, Team
from tests.webhook_client import payload

CODERTOCAT = GitHubUser(21031067, "Codertocat")
OCTOCAT = GitHubUser(5346, "octocat")


def test_pull_request_from_a_webhook_object() -> None:
    pr = payload("pull_request/closed")["pull_request"]
    assert parse.pull_request(pr) == PullRequest(
        github_id=279147437,
        number=2,
        title="Update the README with new information.",
        url="https://github.com/Codertocat/Hello-World/pull/2",
        state="closed",
        draft=False,
        merged=False,
        labels=("bug",),
        created_at=datetime(2019, 5, 15, 15, 20, 33, tzinfo=UTC),
        updated_at=datetime(2019, 5, 15, 15, 21, 18, tzinfo=UTC),
        closed_at=datetime(2019, 5, 15, 15, 21, 18, tzinfo=UTC),
        merged_at=None,
        author=CODERTOCAT,
        requested_reviewers=(OCTOCAT,),
        requested_teams=(),
    )
    assert parse.pull_request({**pr, "user": None}).author is None


def test_merged_comes_from_merged_at_where_the_object_lacks_merged() -> None:
    # The REST list endpoint and review payloads carry no `merged`.
    pr = payload("pull_request_review/submitted")["pull_request"]
    assert "merged" not in pr
    assert parse.pull_request(pr).merged is False
    pr["merged_at"] = "2019-05-16T10:00:00+02:00"
    parsed = parse.pull_request(pr)
    assert parsed.merged is True
    assert parsed.merged_at == datetime(2019, 5, 16, 8, 0, tzinfo=UTC)


def test_draft_and_labels() -> None:
    assert parse.pull_request(payload("pull_request/converted_to_draft")["pull_request"]).draft
    assert parse.labels({"labels": []}) == parse.labels({"labels": None}) == ()
    pr = payload("pull_request/labeled")["pull_request"]
    pr["labels"].append({"name": "area/cli"})
    assert parse.labels(pr) == ("area/cli", "bug")


def test_reviews_in_the_api_spelling() -> None:
    submitted = payload("pull_request_review/submitted")["review"]
    assert parse.review(submitted) == Review(
        github_id=237895671,
        state="COMMENTED",
        submitted_at=datetime(2019, 5, 15, 15, 20, 38, tzinfo=UTC),
        author=CODERTOCAT,
    )
    assert parse.review(payload("pull_request_review/dismissed")["review"]).state == "DISMISSED"
    for state in ("approved", "changes_requested", "APPROVED"):
        assert parse.review({**submitted, "state": state}).state == state.upper()
    assert parse.review({**submitted, "user": None}).author is None


def test_requested_reviewers_and_teams() -> None:
    pr = payload("pull_request/review_requested")["pull_request"]
    parsed = parse.pull_request(pr)
    assert (parsed.requested_reviewers, parsed.requested_teams) == ((OCTOCAT,), ())
    pr["requested_teams"] = [{"id": 1, "name": "Core", "slug": "core"}]
    assert parse.pull_request(pr).requested_teams == ("core",)


def test_repository_with_and_without_owner_object() -> None:
    repo = payload("pull_request/opened")["repository"]
    expected = Repository(
        github_id=186853002,
        owner="Codertocat",
        name="Hello-World",
        updated_at=datetime(2019, 5, 15, 15, 19, 27, tzinfo=UTC),
    )
    assert parse.repository(repo) == expected
    assert expected.full_name == "Codertocat/Hello-World"
    # Installation payloads list repositories with `full_name` only.
    listed = payload("installation/created")["repositories"][0]
    assert "owner" not in listed
    parsed = parse.repository(listed)
    assert parsed.full_name == listed["full_name"]
    assert (parsed.owner, parsed.name) == tuple(listed["full_name"].split("/"))
    assert parsed.updated_at is None  # nor a time: it cannot rename a project back
    assert parse.installation_id(payload("installation/created")) == 957387
    assert parse.installation_id(payload("ping")) is None
    pr = payload("pull_request/opened")["pull_request"]
    assert parse.base_repository(pr) == expected


def test_deliveries() -> None:
    """A payload is read whole, once: repository, installation and the event's objects."""
    data = payload("pull_request/opened")
    delivery = parse.pull_request_delivery(data)
    assert delivery.repository == parse.repository(data["repository"])
    assert delivery.installation_id == parse.installation_id(data)
    assert delivery.pull_request == parse.pull_request(data["pull_request"])

    requested = parse.review_request_delivery(payload("pull_request/review_requested"))
    assert (requested.reviewer, requested.requested) == (OCTOCAT, True)
    removed = payload("pull_request/review_request_removed")
    removed["requested_team"] = {"id": 1, "name": "Core", "slug": "core"}
    withdrawn = parse.review_request_delivery(removed)
    assert (withdrawn.reviewer, withdrawn.requested) == (Team("core"), False)

    review = parse.review_delivery(payload("pull_request_review/submitted"))
    assert review.review.author == CODERTOCAT

    installed = parse.installation_delivery(payload("installation/created"))
    assert installed.installation_id == 957387
    assert installed.repositories == tuple(
        parse.repository(r) for r in payload("installation/created")["repositories"]
    )
    changed = parse.repositories_delivery(payload("installation_repositories/added"))
    assert changed.added and changed.removed == ()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"id": None}, "pull_request.id"),
        ({"id": True}, "pull_request.id"),
        ({"title": 3}, "pull_request.title"),
        ({"state": "weird"}, "pull_request.state"),
        ({"updated_at": "yesterday"}, "pull_request.updated_at"),
        ({"updated_at": None}, "pull_request.updated_at"),
        ({"labels": "bug"}, "pull_request.labels"),
        ({"requested_reviewers": [{"login": "x"}]}, "user.id"),
        ({"requested_teams": [{"id": 1}]}, "team.slug"),
    ],
)
def test_malformed_objects_raise_payload_error(change: dict, message: str) -> None:
    pr = {**payload("pull_request/opened")["pull_request"], **change}
    with pytest.raises(parse.PayloadError, match=message.replace(".", r"\.")):
        parse.pull_request(pr)


def test_malformed_deliveries_raise_payload_error() -> None:
    data = payload("pull_request_review/submitted")
    data["review"]["user"] = None
    with pytest.raises(parse.PayloadError, match=r"review\.user is missing"):
        parse.review_delivery(data)
    with pytest.raises(parse.PayloadError, match=r"payload\.installation is missing"):
        parse.installation_delivery({**payload("installation/created"), "installation": None})
    with pytest.raises(parse.PayloadError, match=r"payload\.repository"):
        parse.pull_request_delivery({**payload("pull_request/opened"), "repository": "x"})


def test_unknown_review_state_and_non_object() -> None:
    with pytest.raises(parse.PayloadError):
        parse.review({"id": 1, "state": "loved"})
    with pytest.raises(parse.PayloadError):
        parse.user("octocat")
    with pytest.raises(parse.PayloadError):
        parse.repository({"id": 1, "full_name": "no-slash"})


def test_shapes_are_frozen_values() -> None:
    pr = parse.pull_request(payload("pull_request/opened")["pull_request"])
    with pytest.raises(AttributeError):
        pr.title = "changed"  # type: ignore[misc]
    assert replace(pr, title="changed").title == "changed" and pr.title != "changed"
    assert hash(pr) == hash(parse.pull_request(payload("pull_request/opened")["pull_request"]))
