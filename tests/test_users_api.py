"""/v1/users through HTTP on both backends."""

import asyncio
import functools

import httpx
import pytest
from starlette.testclient import TestClient

from bot.store import users as store
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


KINDS = ("approved", "commented", "idled")


def test_details_pages_visit_every_pull_request_once(
    client: TestClient, run, db, monkeypatch
) -> None:
    """Following `Link: rel="next"` lists each pull request of each kind exactly once, and
    each list agrees with the pull requests' own details (the window-function definition)."""

    async def seed():
        project = await add_project(db)
        author = await add_user(db, "author")
        me = await add_user(db, "me")
        other = await add_user(db, "other")
        pr = [await add_pull_request(db, project, author, n) for n in range(1, 14)]
        closed = await add_pull_request(db, project, author, 14, state="closed")
        review = functools.partial(add_review, db)
        await review(pr[0], me, "APPROVED", at(10))
        await review(pr[1], me, "APPROVED", at(10))
        await review(pr[1], me, "APPROVED", at(20))  # approved again: listed once
        await review(pr[2], me, "APPROVED", at(10))
        await review(pr[2], me, "CHANGES_REQUESTED", at(11))  # changed their mind
        await review(pr[2], other, "APPROVED", at(12))  # someone else's approval
        await review(pr[3], me, "CHANGES_REQUESTED", at(10))
        await review(pr[3], me, "APPROVED", at(11))
        await review(pr[4], me, "COMMENTED", at(10))
        await review(pr[4], me, "COMMENTED", at(20))  # commented twice: listed once
        await review(pr[5], me, "APPROVED", at(10))
        await review(pr[5], me, "COMMENTED", at(20))  # a comment keeps the approval
        await add_request(db, pr[6], me, at(5))
        await add_request(db, pr[7], me, at(5), removed_at=at(6))  # withdrawn
        await add_request(db, closed, me, at(5))  # closed: no idler, still an approver
        await review(closed, me, "APPROVED", at(10))
        await review(pr[9], me, "COMMENTED", at(10))
        await add_request(db, pr[9], me, at(30))  # asked again after reviewing
        await review(pr[10], me, "APPROVED", at(10))
        await review(pr[10], me, "DISMISSED", None)  # no time: older than any with one
        await add_request(db, pr[11], me, at(5))
        await review(pr[11], me, "COMMENTED", at(10))  # reviewed since the request
        await review(pr[12], me, "APPROVED", at(10))
        await review(pr[12], me, "CHANGES_REQUESTED", at(10))  # same time, later GitHub id
        return me, pr, closed

    me, pr, closed = run(seed)
    expected = {
        "approved": [pr[0], pr[1], pr[3], pr[5], pr[10], closed],
        "commented": [pr[4], pr[5], pr[9], pr[11]],
        "idled": [pr[6], pr[9]],
    }
    for pr_id in [*pr, closed]:
        people = client.get(f"/v1/pull_requests/{pr_id}?details=true").json()
        for kind, role in zip(KINDS, ("approvers", "commenters", "idlers"), strict=True):
            assert ("me" in people[role]) == (pr_id in expected[kind]), (pr_id, kind)

    monkeypatch.setattr(store, "DETAILS_LIMIT", 2)
    seen: dict[str, list[int]] = {kind: [] for kind in KINDS}
    url: str | None = f"/v1/users/{me}?details=true"
    pages = 0
    while url is not None:
        before = db.query_count
        answer = client.get(url)
        assert answer.status_code == 200, answer.text
        assert db.query_count - before == 4  # the user, a list each (the version apart)
        for kind in KINDS:
            ids = [p["id"] for p in answer.json()[f"{kind}_pull_requests"]]
            assert ids == sorted(ids) and len(ids) <= 2
            seen[kind] += ids
        link = answer.headers.get("link")
        url = link.split(">")[0].removeprefix("<") if link else None
        assert link is None or link.endswith('>; rel="next"')
        pages += 1
    assert {kind: sorted(ids) for kind, ids in seen.items()} == expected  # once each
    assert pages == 4  # approved needs 3 full pages, then one that finds nothing more

    # `before` bounds every list alike: the two highest ids of each kind below it.
    page = client.get(f"/v1/users/{me}?details=true&before={pr[9]}").json()
    assert [p["id"] for p in page["approved_pull_requests"]] == [pr[3], pr[5]]
    assert [p["id"] for p in page["commented_pull_requests"]] == [pr[4], pr[5]]
    assert [p["id"] for p in page["idled_pull_requests"]] == [pr[6]]
    # Without details there is nothing to page: the plain user, no Link.
    plain = client.get(f"/v1/users/{me}?before={pr[9]}")
    assert "approved_pull_requests" not in plain.json() and "link" not in plain.headers


def test_a_bad_cursor_is_a_400(client: TestClient, run, db) -> None:
    me = run(add_user, db, "me")
    for name in ("before", "idled_before"):
        for value in ("0", "-1", "x", "", "1.5", str(2**31)):
            answer = client.get(f"/v1/users/{me}?details=true&{name}={value}")
            assert answer.status_code == 400, (name, value)
            assert name in answer.json()["errors"] and answer.json()["detail"]


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
