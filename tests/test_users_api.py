"""/v1/users through HTTP on both backends."""

import asyncio

import httpx
import pytest
from starlette.testclient import TestClient

from tests.factories import add_project, add_pull_request, add_request, add_review, add_user, at


def test_list_and_get_in_the_seed_shape(client: TestClient, run, db) -> None:
    uid = run(add_user, db, "NickyMateev", github_id=15074116)
    listed = client.get("/v1/users")
    assert listed.status_code == 200
    assert listed.json() == [
        {"id": uid, "username": "NickyMateev", "github_id": 15074116, "metadata": {}}
    ]
    assert client.get(f"/v1/users/{uid}").json() == listed.json()[0]
    assert client.get("/v1/users/12345").status_code == 404


def test_the_total_is_counted_again_after_a_write_and_not_between(
    client: TestClient, auth, run, db
) -> None:
    uid = run(add_user, db, "ann")

    def listed(url: str) -> tuple[str | None, int]:
        """X-Total-Count, and the statements the answer ran."""
        before = db.query_count
        response = client.get(url)
        assert response.status_code == 200, response.text
        return response.headers.get("X-Total-Count"), db.query_count - before

    # The count and the page; then the page alone: the total is kept (the data version
    # the ETag needs is counted apart, in db.version_reads).
    assert listed("/v1/users") == ("1", 2)
    assert listed("/v1/users") == ("1", 1)
    assert listed("/v1/users?page=1&per_page=5") == ("1", 1)  # the same total: same filters
    assert listed("/v1/users?after=0") == (None, 1)  # a cursor page has none
    patch = {"metadata": {"slack_id": "UG12345"}}
    assert client.patch(f"/v1/users/{uid}", json=patch, headers=auth).status_code == 204
    assert listed("/v1/users") == ("1", 2)
    run(add_user, db, "bob")
    assert listed("/v1/users") == ("2", 2)
    assert listed("/v1/users") == ("2", 1)


def test_patch_merges_metadata_and_null_removes(client: TestClient, auth, run, db) -> None:
    uid = run(add_user, db, "pankrator", metadata={"team": "core", "email": "p@example.com"})
    patch = {"metadata": {"slack_id": "UG12345", "email": None, "nested": {"a": [1, True]}}}
    response = client.patch(f"/v1/users/{uid}", json=patch, headers=auth)
    assert response.status_code == 204
    assert response.content == b""
    user = client.get(f"/v1/users/{uid}").json()
    assert user["metadata"] == {"team": "core", "slack_id": "UG12345", "nested": {"a": [1, True]}}
    assert isinstance(user["metadata"], dict)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "metadata"),
        ({"metadata": "UG123"}, "metadata"),
        ({"metadata": ["a"]}, "metadata"),
        ({"metadata": {}, "username": "x"}, "username"),
    ],
)
def test_patch_rejects_bad_bodies(client: TestClient, auth, run, db, body, field) -> None:
    uid = run(add_user, db, "someone")
    response = client.patch(f"/v1/users/{uid}", json=body, headers=auth)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_patch_and_delete_need_a_token_and_an_existing_user(
    client: TestClient, auth, run, db
) -> None:
    uid = run(add_user, db, "someone")
    body = {"metadata": {"slack_id": "U1"}}
    assert client.patch(f"/v1/users/{uid}", json=body).status_code == 401
    assert (
        client.patch(
            f"/v1/users/{uid}", json=body, headers={"Authorization": "Bearer x"}
        ).status_code
        == 403
    )
    assert client.patch("/v1/users/999", json=body, headers=auth).status_code == 404
    assert client.patch("/v1/users/x", json=body, headers=auth).status_code == 404
    assert client.delete("/v1/users/999", headers=auth).status_code == 404
    assert client.delete(f"/v1/users/{uid}", headers=auth).status_code == 204
    assert client.get(f"/v1/users/{uid}").status_code == 404


def test_details_lists_approved_commented_and_idled(client: TestClient, run, db) -> None:
    async def seed():
        project = await add_project(db)
        author = await add_user(db, "author")
        me = await add_user(db, "me")
        approved = await add_pull_request(db, project, author, 1)
        commented = await add_pull_request(db, project, author, 2)
        idle = await add_pull_request(db, project, author, 3)
        re_requested = await add_pull_request(db, project, author, 4)
        closed = await add_pull_request(db, project, author, 5, state="closed")
        changed_mind = await add_pull_request(db, project, author, 6)
        removed = await add_pull_request(db, project, author, 7)
        await add_review(db, approved, me, "APPROVED", at(10))
        await add_review(db, approved, me, "COMMENTED", at(20))  # comments keep the approval
        await add_review(db, commented, me, "COMMENTED", at(10))
        await add_request(db, idle, me, at(5))
        await add_review(db, re_requested, me, "COMMENTED", at(10))
        await add_request(db, re_requested, me, at(30))  # asked again after reviewing
        await add_request(db, closed, me, at(5))  # closed PRs make no idlers
        await add_review(db, changed_mind, me, "APPROVED", at(10))
        await add_review(db, changed_mind, me, "CHANGES_REQUESTED", at(11))
        await add_request(db, removed, me, at(5), removed_at=at(6))
        return me, approved, commented, idle, re_requested

    me, approved, commented, idle, re_requested = run(seed)
    body = client.get(f"/v1/users/{me}?details=true").json()
    assert [p["id"] for p in body["approved_pull_requests"]] == [approved]
    assert [p["id"] for p in body["commented_pull_requests"]] == [approved, commented, re_requested]
    assert [p["id"] for p in body["idled_pull_requests"]] == [idle, re_requested]
    pr = body["idled_pull_requests"][0]
    assert set(pr) >= {
        "id",
        "user_id",
        "project_id",
        "title",
        "url",
        "number",
        "github_id",
        "created_at",
        "updated_at",
    }
    assert pr["created_at"].endswith("Z")
    plain = client.get(f"/v1/users/{me}").json()
    assert "approved_pull_requests" not in plain
    assert client.get(f"/v1/users/{me}?details=maybe").status_code == 400


def test_concurrent_patches_keep_every_key(client: TestClient, auth, run, db) -> None:
    user = run(add_user, db, "ann")

    async def patch_at_once() -> list[int]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answers = await asyncio.gather(
                *(
                    http.patch(f"/v1/users/{user}", json={"metadata": {f"k{i}": i}}, headers=auth)
                    for i in range(8)
                )
            )
        return [a.status_code for a in answers]

    assert run(patch_at_once) == [204] * 8
    assert client.get(f"/v1/users/{user}").json()["metadata"] == {f"k{i}": i for i in range(8)}
