"""installation and installation_repositories deliveries, read back through /v1/projects."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.github_events import repository_event
from tests.webhook_client import deliver, payload


def projects_by_name(client: TestClient) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in client.get("/v1/projects").json()}


def state(project: dict[str, Any]) -> tuple:
    return (project["installation_id"], project["installed"], project["active"])


def test_created_makes_projects_and_matches_one_added_through_the_api(
    client: TestClient, auth
) -> None:
    created = payload("installation/created")
    created["repositories"].append(
        {"id": 42, "name": "Other", "full_name": "Codertocat/Other", "private": False}
    )
    first = created["repositories"][0]["full_name"]
    owner, name = first.split("/")
    # Added through the API earlier, with other case: matched, not duplicated.
    answer = client.post(
        "/v1/projects",
        json={"name": "Our app", "repo_owner": owner.upper(), "repo_name": name.lower()},
        headers=auth,
    )
    assert answer.status_code == 201
    assert deliver(client, "installation", created).status_code == 200

    projects = projects_by_name(client)
    assert set(projects) == {"Our app", "Codertocat/Other"}
    for project in projects.values():
        assert state(project) == (957387, True, True)
    assert projects["Our app"]["github_id"] == created["repositories"][0]["id"]
    # The repository's real spelling replaces the one typed into the API.
    assert (projects["Our app"]["repo_owner"], projects["Our app"]["repo_name"]) == (owner, name)


def test_suspend_unsuspend_and_delete(client: TestClient) -> None:
    created = payload("installation/created")
    assert deliver(client, "installation", created).status_code == 200
    expected = {
        "suspend": (957387, True, False),
        "unsuspend": (957387, True, True),
        "deleted": (957387, False, False),
    }
    for action, after in expected.items():
        data = payload(f"installation/{action}")
        data["installation"]["id"] = created["installation"]["id"]
        assert deliver(client, "installation", data).status_code == 200
        assert {state(p) for p in projects_by_name(client).values()} == {after}, action
    # Deleted projects keep their rows (and history), no longer synced.
    assert len(projects_by_name(client)) == len(created["repositories"])


def test_repositories_added_and_removed_keep_history(client: TestClient) -> None:
    added = payload("installation_repositories/added")
    [repo] = added["repositories_added"]
    assert deliver(client, "installation_repositories", added).status_code == 200
    project = projects_by_name(client)[repo["full_name"]]
    assert state(project) == (added["installation"]["id"], True, True)

    # A pull request of that repository arrives, then the repository leaves the App.
    opened = payload("pull_request/opened")
    opened["repository"].update(id=repo["id"], name=repo["name"], full_name=repo["full_name"])
    opened["repository"]["owner"]["login"] = repo["full_name"].split("/")[0]
    opened["installation"]["id"] = added["installation"]["id"]
    assert deliver(client, "pull_request", opened).status_code == 200

    removed = payload("installation_repositories/removed")
    removed["repositories_removed"] = [repo]
    removed["installation"]["id"] = added["installation"]["id"]
    assert deliver(client, "installation_repositories", removed).status_code == 200
    project = projects_by_name(client)[repo["full_name"]]
    assert (project["installed"], project["active"]) == (False, False)
    [pr] = client.get(f"/v1/pull_requests?state=all&project_id={project['id']}").json()
    assert pr["github_id"] == opened["pull_request"]["id"]

    # Added back: active again, still one project.
    assert deliver(client, "installation_repositories", added).status_code == 200
    projects = projects_by_name(client)
    assert state(projects[repo["full_name"]]) == (added["installation"]["id"], True, True)
    assert len(projects) == 1


def test_a_suspended_installation_does_not_revive_removed_repositories(client: TestClient):
    added = payload("installation_repositories/added")
    installation = added["installation"]["id"]
    [repo] = added["repositories_added"]
    deliver(client, "installation_repositories", added)
    removed = payload("installation_repositories/removed")
    removed["installation"]["id"] = installation
    removed["repositories_removed"] = [repo]
    deliver(client, "installation_repositories", removed)
    for action in ("suspend", "unsuspend"):
        data = payload(f"installation/{action}")
        data["installation"]["id"] = installation
        assert deliver(client, "installation", data).status_code == 200
    assert state(projects_by_name(client)[repo["full_name"]]) == (installation, False, False)


def test_a_renamed_or_transferred_repository_keeps_its_project(client: TestClient) -> None:
    """The fetchers ask GitHub by owner/name: a moved repository's project follows it."""
    opened = payload("pull_request/opened")
    assert deliver(client, "pull_request", opened).status_code == 200
    [before] = client.get("/v1/projects").json()

    renamed = repository_event(
        "renamed", "Codertocat", "Hello-Again", changes={"repository": {"name": {"from": "x"}}}
    )
    assert deliver(client, "repository", renamed).json()["detail"] == "applied"
    [after] = client.get("/v1/projects").json()
    assert (after["id"], after["github_id"], after["name"]) == (
        before["id"],
        before["github_id"],
        "Codertocat/Hello-World",  # the project's name is its own; the repository moved
    )
    assert (after["repo_owner"], after["repo_name"]) == ("Codertocat", "Hello-Again")

    moved = repository_event("transferred", "Octocoders", "Hello-Again")
    assert deliver(client, "repository", moved).json()["detail"] == "applied"
    [after] = client.get("/v1/projects").json()
    assert (after["id"], after["repo_owner"], after["repo_name"], state(after)) == (
        before["id"],
        "Octocoders",
        "Hello-Again",
        state(before),
    )
    # Later deliveries name the new repository: still the one project.
    opened["repository"] = moved["repository"]
    assert deliver(client, "pull_request", opened).status_code == 200
    assert [p["id"] for p in client.get("/v1/projects").json()] == [before["id"]]

    # Other repository actions are not ours.
    edited = repository_event("edited", "Octocoders", "Hello-Again")
    assert deliver(client, "repository", edited).status_code == 202
    malformed = {**moved, "repository": {"id": before["github_id"], "name": "no-owner"}}
    answer = deliver(client, "repository", malformed)
    assert answer.status_code == 422
    assert "repository.full_name" in answer.json()["detail"]


def test_a_late_delivery_from_before_a_rename_does_not_move_the_project_back(
    client: TestClient,
) -> None:
    """GitHub moves a repository's `updated_at` when it is renamed; a delivery from before
    (late, or redelivered by the backstop) shows the old name and an older time."""
    renamed = repository_event("renamed", "Codertocat", "Hello-Again")
    renamed["repository"]["updated_at"] = "2019-06-01T10:00:00Z"
    assert deliver(client, "repository", renamed).json()["detail"] == "applied"
    old = payload("pull_request/opened")  # Codertocat/Hello-World, as of 2019-05-15
    assert deliver(client, "pull_request", old).json()["detail"] == "applied"
    [project] = client.get("/v1/projects").json()
    assert (project["repo_owner"], project["repo_name"]) == ("Codertocat", "Hello-Again")
    assert len(client.get("/v1/pull_requests").json()) == 1  # the delivery applied all else
    # An installation event's repositories have no time: they do not rename it either.
    added = payload("installation_repositories/added")
    added["repositories_added"] = [
        {"id": project["github_id"], "name": "Hello-World", "full_name": "Codertocat/Hello-World"}
    ]
    assert deliver(client, "installation_repositories", added).status_code == 200
    [project] = client.get("/v1/projects").json()
    assert project["repo_name"] == "Hello-Again"
    # A newer picture does.
    renamed["repository"].update(name="Hello-Third", updated_at="2019-06-02T10:00:00Z")
    assert deliver(client, "repository", renamed).status_code == 200
    assert client.get("/v1/projects").json()[0]["repo_name"] == "Hello-Third"
