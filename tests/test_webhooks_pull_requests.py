"""pull_request and pull_request_review deliveries, read back through the read API."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from starlette.testclient import TestClient

from bot.store.tables import review_requests, users
from tests.factories import at
from tests.github_events import (
    AUTHOR,
    HUBOT,
    OCTOCAT,
    PullRequest,
    github_team,
    pull_request_event,
    review_event,
)
from tests.webhook_client import deliver, payload


def the_pull_request(client: TestClient) -> dict[str, Any]:
    """The one stored pull request, with details."""
    listed = client.get("/v1/pull_requests?state=all").json()
    assert len(listed) == 1
    return client.get(f"/v1/pull_requests/{listed[0]['id']}?details=true").json()


def open_requests(run, db) -> list[tuple[str | None, str | None]]:
    """(login, team) of every open review request."""

    async def query():
        rows = await db.fetch_all(
            sa.select(users.c.username, review_requests.c.team_slug)
            .select_from(review_requests.outerjoin(users, users.c.id == review_requests.c.user_id))
            .where(review_requests.c.removed_at.is_(None))
        )
        return sorted(((r["username"], r["team_slug"]) for r in rows), key=str)

    return run(query)


def test_opened_stores_project_author_pull_request_and_requests(client: TestClient) -> None:
    answer = deliver(client, "pull_request", payload("pull_request/opened"), guid="o1")
    assert answer.status_code == 200
    assert answer.json() == {"detail": "applied", "delivery": "o1"}

    [project] = client.get("/v1/projects").json()
    assert {k: project[k] for k in ("name", "repo_owner", "repo_name", "github_id")} == {
        "name": "Codertocat/Hello-World",
        "repo_owner": "Codertocat",
        "repo_name": "Hello-World",
        "github_id": 186853002,
    }
    assert (project["installation_id"], project["installed"], project["active"]) == (1, True, True)

    pr = the_pull_request(client)
    assert {k: v for k, v in pr.items() if k not in ("id", "user_id", "project_id")} == {
        "title": "Update the README with new information.",
        "url": "https://github.com/Codertocat/Hello-World/pull/2",
        "number": 2,
        "github_id": 279147437,
        "created_at": "2019-05-15T15:20:33Z",
        "updated_at": "2019-05-15T15:20:33Z",
        "state": "open",
        "draft": False,
        "merged": False,
        "labels": ["bug"],
        "closed_at": None,
        "author": "Codertocat",
        "approvers": [],
        "commenters": [],
        "idlers": ["octocat"],
    }
    assert pr["project_id"] == project["id"]
    logins = {u["username"]: u for u in client.get("/v1/users").json()}
    assert logins["Codertocat"]["github_id"] == 21031067
    assert pr["user_id"] == logins["Codertocat"]["id"]


def test_every_pull_request_action_updates_the_pull_request(client: TestClient, run, db) -> None:
    pr = PullRequest(279147437, 2, at(0), reviewers=(OCTOCAT,))
    steps: list[tuple[str, PullRequest, dict, dict]] = []

    def step(action: str, new: dict, expect: dict, **extra: Any) -> None:
        nonlocal pr
        pr = pr.but(updated_at=at(len(steps) + 1), **new)
        steps.append((action, pr, extra, expect))

    step("opened", {}, {"state": "open", "idlers": ["octocat"]})
    step(
        "edited",
        {"title": "A better title"},
        {"title": "A better title"},
        changes={"title": {"from": "x"}},
    )
    step("synchronize", {}, {"updated_at": "2026-01-05T09:03:00Z"}, before="a", after="b")
    step("converted_to_draft", {"draft": True}, {"draft": True})
    step("ready_for_review", {"draft": False}, {"draft": False})
    step("labeled", {"labels": ("area/cli", "bug")}, {"labels": ["area/cli", "bug"]})
    step("unlabeled", {"labels": ("bug",)}, {"labels": ["bug"]})
    step("assigned", {}, {"title": "A better title"}, assignee=HUBOT)
    step("unassigned", {}, {"labels": ["bug"]}, assignee=HUBOT)
    step(
        "review_requested",
        {"reviewers": (OCTOCAT, HUBOT)},
        {"idlers": ["hubot", "octocat"]},
        requested_reviewer=HUBOT,
    )
    step(
        "review_request_removed",
        {"reviewers": (HUBOT,)},
        {"idlers": ["hubot"]},
        requested_reviewer=OCTOCAT,
    )
    step(
        "closed",
        {"state": "closed", "closed_at": at(12)},
        {"state": "closed", "merged": False, "closed_at": "2026-01-05T09:12:00Z", "idlers": []},
    )
    step(
        "reopened",
        {"state": "open", "closed_at": None},
        {"state": "open", "closed_at": None, "idlers": ["hubot"]},
    )
    step(
        "closed",
        {"state": "closed", "merged": True, "closed_at": at(14), "merged_at": at(14)},
        {"state": "closed", "merged": True, "idlers": []},
    )

    for number, (action, snapshot, extra, expect) in enumerate(steps):
        answer = deliver(client, "pull_request", pull_request_event(action, snapshot, **extra))
        assert answer.status_code == 200, (action, answer.text)
        stored = the_pull_request(client)
        assert {k: stored[k] for k in expect} == expect, action
        assert stored["updated_at"] == f"2026-01-05T09:{number + 1:02d}:00Z"
        assert stored["author"] == "Codertocat"
    assert open_requests(run, db) == [("hubot", None)]


def test_a_team_request_is_kept_as_a_team(client: TestClient, run, db) -> None:
    pr = PullRequest(11, 3, at(1), reviewers=(OCTOCAT,))
    deliver(client, "pull_request", pull_request_event("opened", pr))
    requested = pr.but(updated_at=at(2), teams=("core",))
    answer = deliver(
        client,
        "pull_request",
        pull_request_event("review_requested", requested, requested_team=github_team("core")),
    )
    assert answer.status_code == 200
    assert open_requests(run, db) == [("octocat", None), (None, "core")]
    removed = requested.but(updated_at=at(3), teams=())
    deliver(
        client,
        "pull_request",
        pull_request_event("review_request_removed", removed, requested_team=github_team("core")),
    )
    assert open_requests(run, db) == [("octocat", None)]


def test_a_renamed_login_updates_the_user(client: TestClient) -> None:
    pr = PullRequest(12, 4, at(1))
    deliver(client, "pull_request", pull_request_event("opened", pr))
    renamed = {**AUTHOR, "login": "Codertocat-renamed"}
    deliver(
        client,
        "pull_request",
        pull_request_event("edited", pr.but(updated_at=at(2), author=renamed)),
    )
    [user] = client.get("/v1/users").json()
    assert (user["username"], user["github_id"]) == ("Codertocat-renamed", 21031067)
    assert the_pull_request(client)["author"] == "Codertocat-renamed"


def test_a_stale_delivery_after_a_newer_one_changes_nothing(client: TestClient) -> None:
    older = PullRequest(13, 5, at(1), title="old title", reviewers=(OCTOCAT,))
    newer = older.but(updated_at=at(5), title="new title", state="closed", closed_at=at(5))
    assert deliver(client, "pull_request", pull_request_event("closed", newer)).status_code == 200
    answer = deliver(client, "pull_request", pull_request_event("edited", older))
    assert answer.status_code == 200  # acknowledged: GitHub must not retry it
    stored = the_pull_request(client)
    assert (stored["title"], stored["state"], stored["updated_at"]) == (
        "new title",
        "closed",
        "2026-01-05T09:05:00Z",
    )
    assert stored["idlers"] == []


def test_a_review_before_its_pull_request_creates_the_pull_request(client: TestClient) -> None:
    answer = deliver(
        client, "pull_request_review", payload("pull_request_review/submitted"), guid="r1"
    )
    assert answer.status_code == 200
    stored = the_pull_request(client)
    assert (stored["github_id"], stored["number"], stored["author"]) == (279147437, 2, "Codertocat")
    assert stored["commenters"] == ["Codertocat"]
    assert stored["updated_at"] == "2019-05-15T15:20:38Z"
    assert stored["merged"] is False
    # The older `opened` arrives afterwards: acknowledged, and the newer state stays.
    assert deliver(client, "pull_request", payload("pull_request/opened")).status_code == 200
    assert the_pull_request(client)["updated_at"] == "2019-05-15T15:20:38Z"
    assert client.get("/v1/projects").json()[0]["name"] == "Codertocat/Hello-World"


def test_review_states_and_idleness(client: TestClient) -> None:
    pr = PullRequest(14, 6, at(1), reviewers=(OCTOCAT, HUBOT))
    deliver(client, "pull_request", pull_request_event("opened", pr))
    assert the_pull_request(client)["idlers"] == ["hubot", "octocat"]

    # octocat approves: GitHub drops the request; the review ends the idleness anyway.
    after_review = pr.but(updated_at=at(2), reviewers=(HUBOT,))
    approve = review_event("submitted", after_review, 501, OCTOCAT, "approved", at(2))
    assert deliver(client, "pull_request_review", approve, guid="rv1").status_code == 200
    stored = the_pull_request(client)
    assert (stored["approvers"], stored["idlers"]) == (["octocat"], ["hubot"])

    # hubot comments while its request stays in GitHub's snapshot: no longer idle.
    comment = review_event(
        "submitted", after_review.but(updated_at=at(3)), 502, HUBOT, "commented", at(3)
    )
    deliver(client, "pull_request_review", comment)
    stored = the_pull_request(client)
    assert (stored["commenters"], stored["idlers"]) == (["hubot"], [])

    edited = review_event(
        "edited", after_review.but(updated_at=at(4)), 501, OCTOCAT, "approved", at(2)
    )
    deliver(client, "pull_request_review", edited)
    assert the_pull_request(client)["approvers"] == ["octocat"]

    dismissed = review_event(
        "dismissed", pr.but(updated_at=at(5)), 501, OCTOCAT, "dismissed", at(2)
    )
    assert deliver(client, "pull_request_review", dismissed).status_code == 200
    assert the_pull_request(client)["approvers"] == []

    # The approval delivered again late (a new GUID) does not undo the dismissal.
    late = review_event("submitted", after_review, 501, OCTOCAT, "approved", at(2))
    assert deliver(client, "pull_request_review", late).status_code == 200
    assert the_pull_request(client)["approvers"] == []


def test_the_sample_review_payloads(client: TestClient) -> None:
    deliver(client, "pull_request", payload("pull_request/opened"))
    deliver(client, "pull_request_review", payload("pull_request_review/submitted"))
    assert the_pull_request(client)["commenters"] == ["Codertocat"]
    # The sample dismissal belongs to another pull request of another repository.
    answer = deliver(client, "pull_request_review", payload("pull_request_review/dismissed"))
    assert answer.status_code == 200
    listed = client.get("/v1/pull_requests?state=all").json()
    assert len(listed) == 2
