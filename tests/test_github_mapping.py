"""GitHub objects to rows (pure), with the shared real payloads."""

from datetime import UTC, datetime

import pytest

from bot.github import mapping
from tests.webhook_client import payload


def test_pull_request_row_from_a_webhook_object() -> None:
    pr = payload("pull_request/closed")["pull_request"]
    assert mapping.pull_request_row(pr) == {
        "github_id": 279147437,
        "number": 2,
        "title": "Update the README with new information.",
        "url": "https://github.com/Codertocat/Hello-World/pull/2",
        "state": "closed",
        "draft": False,
        "merged": False,
        "labels": ["bug"],
        "created_at": datetime(2019, 5, 15, 15, 20, 33, tzinfo=UTC),
        "updated_at": datetime(2019, 5, 15, 15, 21, 18, tzinfo=UTC),
        "closed_at": datetime(2019, 5, 15, 15, 21, 18, tzinfo=UTC),
        "merged_at": None,
    }
    assert mapping.pull_request_author(pr) == {"github_id": 21031067, "username": "Codertocat"}


def test_merged_comes_from_merged_at_where_the_object_lacks_merged() -> None:
    # The REST list endpoint and review payloads carry no `merged`.
    pr = payload("pull_request_review/submitted")["pull_request"]
    assert "merged" not in pr
    assert mapping.pull_request_row(pr)["merged"] is False
    pr["merged_at"] = "2019-05-16T10:00:00+02:00"
    row = mapping.pull_request_row(pr)
    assert row["merged"] is True
    assert row["merged_at"] == datetime(2019, 5, 16, 8, 0, tzinfo=UTC)


def test_draft_and_labels() -> None:
    assert mapping.pull_request_row(payload("pull_request/converted_to_draft")["pull_request"])[
        "draft"
    ]
    assert mapping.labels({"labels": []}) == mapping.labels({"labels": None}) == []
    pr = payload("pull_request/labeled")["pull_request"]
    pr["labels"].append({"name": "area/cli"})
    assert mapping.labels(pr) == ["area/cli", "bug"]


def test_review_rows_in_the_api_spelling() -> None:
    submitted = payload("pull_request_review/submitted")["review"]
    assert mapping.review_row(submitted) == {
        "github_id": 237895671,
        "state": "COMMENTED",
        "submitted_at": datetime(2019, 5, 15, 15, 20, 38, tzinfo=UTC),
    }
    assert mapping.review_author(submitted) == {"github_id": 21031067, "username": "Codertocat"}
    assert mapping.review_row(payload("pull_request_review/dismissed")["review"])["state"] == (
        "DISMISSED"
    )
    for state in ("approved", "changes_requested", "APPROVED"):
        assert mapping.review_row({**submitted, "state": state})["state"] == state.upper()


def test_requested_reviewers_and_teams() -> None:
    pr = payload("pull_request/review_requested")["pull_request"]
    assert mapping.requested_reviewers(pr) == [{"github_id": 5346, "username": "octocat"}]
    assert mapping.requested_teams(pr) == []
    pr["requested_teams"] = [{"id": 1, "name": "Core", "slug": "core"}]
    assert mapping.requested_teams(pr) == ["core"]


def test_repository_to_project_with_and_without_owner_object() -> None:
    repo = payload("pull_request/opened")["repository"]
    expected = {
        "repo_owner": "Codertocat",
        "repo_name": "Hello-World",
        "github_id": 186853002,
        "name": "Codertocat/Hello-World",
    }
    assert mapping.project_row(repo) == expected
    # Installation payloads list repositories with `full_name` only.
    listed = payload("installation/created")["repositories"][0]
    assert "owner" not in listed
    row = mapping.project_row(listed)
    assert row["name"] == listed["full_name"]
    assert (row["repo_owner"], row["repo_name"]) == tuple(listed["full_name"].split("/"))
    assert mapping.installation_id(payload("installation/created")) == 957387
    assert mapping.installation_id(payload("ping")) is None


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
    ],
)
def test_malformed_objects_raise_payload_error(change: dict, message: str) -> None:
    pr = {**payload("pull_request/opened")["pull_request"], **change}
    with pytest.raises(mapping.PayloadError, match=message.replace(".", r"\.")):
        mapping.pull_request_row(pr)
        mapping.requested_reviewers(pr)


def test_unknown_review_state_and_non_object() -> None:
    with pytest.raises(mapping.PayloadError):
        mapping.review_row({"id": 1, "state": "loved"})
    with pytest.raises(mapping.PayloadError):
        mapping.user_row("octocat")
    with pytest.raises(mapping.PayloadError):
        mapping.project_row({"id": 1, "full_name": "no-slash"})
