"""/v1/projects through HTTP on both backends."""

import asyncio

import httpx
import pytest
from starlette.testclient import TestClient

from tests.factories import add_project, add_pull_request, add_request, add_review, add_user, at

DOCKER = {"name": "The Docker CLI", "repo_owner": "docker", "repo_name": "cli"}


def test_create_then_get_and_list(client: TestClient, auth) -> None:
    created = client.post("/v1/projects", json=DOCKER, headers=auth)
    assert created.status_code == 201
    project = created.json()
    assert {k: project[k] for k in DOCKER} == DOCKER
    assert isinstance(project["id"], int)

    fetched = client.get(f"/v1/projects/{project['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == project

    listed = client.get("/v1/projects")
    assert listed.status_code == 200
    assert listed.json() == [project]


def test_create_twice_is_a_conflict_whatever_the_case(client: TestClient, auth) -> None:
    assert client.post("/v1/projects", json=DOCKER, headers=auth).status_code == 201
    again = client.post(
        "/v1/projects", json={**DOCKER, "repo_owner": "Docker", "repo_name": "CLI"}, headers=auth
    )
    assert again.status_code == 409
    assert "already a project" in again.json()["detail"]
    assert len(client.get("/v1/projects").json()) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"repo_owner": "docker", "repo_name": "cli"}, "name"),
        ({"name": "x", "repo_name": "cli"}, "repo_owner"),
        ({"name": "x", "repo_owner": "docker", "repo_name": 7}, "repo_name"),
        ({"name": "", "repo_owner": "docker", "repo_name": "cli"}, "name"),
        ({"name": "x", "repo_owner": "not/valid", "repo_name": "cli"}, "repo_owner"),
        ({"name": "x", "repo_owner": "docker", "repo_name": "a b"}, "repo_name"),
        ({**DOCKER, "colour": "red"}, "colour"),
    ],
)
def test_create_rejects_bad_bodies_naming_the_field(client: TestClient, auth, body, field) -> None:
    response = client.post("/v1/projects", json=body, headers=auth)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert client.get("/v1/projects").json() == []


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
def test_create_rejects_malformed_json(client: TestClient, auth, raw) -> None:
    response = client.post(
        "/v1/projects", content=raw, headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"]


def test_mutations_need_a_token(client: TestClient, auth) -> None:
    assert client.post("/v1/projects", json=DOCKER).status_code == 401
    wrong = client.post("/v1/projects", json=DOCKER, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert wrong.json()["detail"]
    basic = client.post("/v1/projects", json=DOCKER, headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401
    project_id = client.post("/v1/projects", json=DOCKER, headers=auth).json()["id"]
    assert client.delete(f"/v1/projects/{project_id}").status_code == 401
    assert client.get(f"/v1/projects/{project_id}").status_code == 200


def test_get_and_delete_unknown_or_malformed_ids(client: TestClient, auth) -> None:
    assert client.get("/v1/projects/999").status_code == 404
    assert client.get("/v1/projects/999").json() == {"detail": "project not found"}
    assert client.get("/v1/projects/abc").status_code == 404
    assert client.get("/v1/projects/99999999999999999999").status_code == 404
    assert client.delete("/v1/projects/999", headers=auth).status_code == 404


def test_delete_removes_pull_requests_reviews_and_requests(
    client: TestClient, auth, run, db
) -> None:
    async def seed():
        project = await add_project(db)
        other = await add_project(db, "kubernetes", "kubernetes")
        author = await add_user(db, "author")
        reviewer = await add_user(db, "reviewer")
        pr = await add_pull_request(db, project, author, 1)
        kept = await add_pull_request(db, other, author, 2)
        await add_review(db, pr, reviewer, "APPROVED", at(5))
        await add_request(db, pr, reviewer, at(1))
        await add_request(db, kept, reviewer, at(1))
        return project, kept

    project, kept = run(seed)
    assert client.delete(f"/v1/projects/{project}", headers=auth).status_code == 204
    assert client.get(f"/v1/projects/{project}").status_code == 404
    remaining = client.get("/v1/pull_requests?state=all").json()
    assert [pr["id"] for pr in remaining] == [kept]
    reviewer = client.get("/v1/users").json()[1]
    details = client.get(f"/v1/users/{reviewer['id']}?details=true").json()
    assert details["approved_pull_requests"] == []
    assert [pr["id"] for pr in details["idled_pull_requests"]] == [kept]


def test_list_is_paged_with_link_headers(client: TestClient, auth) -> None:
    for i in range(5):
        body = {"name": f"p{i}", "repo_owner": "org", "repo_name": f"repo{i}"}
        assert client.post("/v1/projects", json=body, headers=auth).status_code == 201
    first = client.get("/v1/projects?page=1&per_page=2")
    assert [p["name"] for p in first.json()] == ["p0", "p1"]
    assert first.headers["X-Total-Count"] == "5"
    links = first.links
    assert links["next"]["url"].endswith("page=2&per_page=2")
    assert links["last"]["url"].endswith("page=3&per_page=2")
    assert "prev" not in links

    # Without `page`: the same first page, whose next page is after its last id.
    default = client.get("/v1/projects?per_page=2")
    assert default.content == first.content
    assert default.headers["X-Total-Count"] == "5"
    assert default.links["next"]["url"].endswith(f"after={first.json()[-1]['id']}&per_page=2")
    assert default.links["last"] == links["last"]
    assert "prev" not in default.links

    last = client.get(links["last"]["url"])
    assert [p["name"] for p in last.json()] == ["p4"]
    assert "next" not in last.links
    assert last.links["prev"]["url"].endswith("page=2&per_page=2")

    beyond = client.get("/v1/projects?page=9&per_page=2")
    assert beyond.status_code == 200
    assert beyond.json() == []


@pytest.mark.parametrize(
    "query", ["per_page=0", "per_page=1001", "per_page=x", "page=0", "page=-1"]
)
def test_bad_paging_is_400(client: TestClient, query) -> None:
    response = client.get(f"/v1/projects?{query}")
    assert response.status_code == 400
    assert response.json()["errors"]


def test_a_bad_cursor_or_one_with_a_page_is_400(client: TestClient) -> None:
    for query in ("after=-1", "after=x", "after=", "after=2147483648", "after=1&page=1"):
        response = client.get(f"/v1/projects?{query}")
        assert response.status_code == 400, query
        body = response.json()
        assert body["detail"].startswith("invalid query: after: "), query
        assert list(body["errors"]) == ["after"], query
    assert client.get("/v1/users?page=2&after=0").json()["errors"] == {
        "after": "cannot be sent with page"
    }


def test_a_cursor_past_the_end_is_an_empty_page_with_no_next(client: TestClient, auth) -> None:
    assert client.post("/v1/projects", json=DOCKER, headers=auth).status_code == 201
    response = client.get("/v1/projects?after=2147483647&per_page=5")
    assert response.status_code == 200
    assert response.json() == []
    assert "next" not in response.links
    assert response.links["first"]["url"].endswith("/v1/projects?per_page=5")
    assert "X-Total-Count" not in response.headers


def test_concurrent_creates_of_one_repository_make_one_project(client: TestClient, auth, run):
    async def create_at_once() -> list[int]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answers = await asyncio.gather(
                *(http.post("/v1/projects", json=DOCKER, headers=auth) for _ in range(8))
            )
        return sorted(a.status_code for a in answers)

    assert run(create_at_once) == [201] + [409] * 7
    assert len(client.get("/v1/projects").json()) == 1
