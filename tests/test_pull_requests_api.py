"""/v1/pull_requests through HTTP on both backends."""

from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.testclient import TestClient

from tests.factories import T0, add_project, add_pull_request, add_request, add_review, add_user, at


def test_get_in_the_seed_shape(client: TestClient, run, db) -> None:
    async def seed():
        project = await add_project(db)
        author = await add_user(db, "thaJeztah")
        return (
            project,
            author,
            await add_pull_request(
                db,
                project,
                author,
                1524,
                github_id=231736127,
                title='Fix "warning" output on docker system prune',
                url="https://github.com/docker/cli/pull/1524",
            ),
        )

    project, author, pr = run(seed)
    body = client.get(f"/v1/pull_requests/{pr}").json()
    assert {
        k: body[k]
        for k in (
            "id",
            "user_id",
            "project_id",
            "title",
            "url",
            "number",
            "github_id",
            "created_at",
            "updated_at",
        )
    } == {
        "id": pr,
        "user_id": author,
        "project_id": project,
        "title": 'Fix "warning" output on docker system prune',
        "url": "https://github.com/docker/cli/pull/1524",
        "number": 1524,
        "github_id": 231736127,
        "created_at": "2026-01-05T09:00:00Z",
        "updated_at": "2026-01-05T09:00:00Z",
    }
    assert T0.tzinfo is not None
    assert client.get("/v1/pull_requests/4040").status_code == 404


def test_details_name_author_approvers_commenters_idlers(client: TestClient, run, db) -> None:
    async def seed():
        project = await add_project(db)
        author = await add_user(db, "thaJeztah")
        vdemeester = await add_user(db, "vdemeester")
        silvin = await add_user(db, "silvin-lubecki")
        idler = await add_user(db, "idler")
        dismissed = await add_user(db, "dismissed")
        pr = await add_pull_request(db, project, author, 1524)
        await add_review(db, pr, vdemeester, "APPROVED", at(10))
        await add_review(db, pr, silvin, "CHANGES_REQUESTED", at(5))
        await add_review(db, pr, silvin, "APPROVED", at(15))
        await add_review(db, pr, author, "COMMENTED", at(3))
        await add_review(db, pr, dismissed, "DISMISSED", at(4))
        await add_request(db, pr, idler, at(1))
        await add_request(db, pr, vdemeester, at(2))  # reviewed since: not idle
        return pr

    pr = run(seed)
    body = client.get(f"/v1/pull_requests/{pr}?details=true").json()
    assert body["author"] == "thaJeztah"
    assert body["approvers"] == ["silvin-lubecki", "vdemeester"]
    assert body["commenters"] == ["thaJeztah"]
    assert body["idlers"] == ["idler"]
    assert "approvers" not in client.get(f"/v1/pull_requests/{pr}").json()


def test_list_filters_by_state_project_and_user(client: TestClient, run, db) -> None:
    async def seed():
        p1 = await add_project(db)
        p2 = await add_project(db, "kubernetes", "kubernetes")
        a = await add_user(db, "a")
        b = await add_user(db, "b")
        ids = {
            "p1a_open": await add_pull_request(db, p1, a, 1),
            "p1b_open": await add_pull_request(db, p1, b, 2),
            "p2a_open": await add_pull_request(db, p2, a, 3),
            "p1a_closed": await add_pull_request(db, p1, a, 4, state="closed"),
        }
        return p1, a, ids

    p1, a, ids = run(seed)

    def listed(query: str) -> list[int]:
        response = client.get(f"/v1/pull_requests{query}")
        assert response.status_code == 200, response.text
        return [pr["id"] for pr in response.json()]

    assert listed("") == [ids["p1a_open"], ids["p1b_open"], ids["p2a_open"]]
    assert listed("?state=closed") == [ids["p1a_closed"]]
    assert len(listed("?state=all")) == 4
    assert listed(f"?project_id={p1}") == [ids["p1a_open"], ids["p1b_open"]]
    assert listed(f"?project_id={p1}&user_id={a}&state=all") == [ids["p1a_open"], ids["p1a_closed"]]
    assert client.get("/v1/pull_requests?state=merged").status_code == 400
    assert client.get("/v1/pull_requests?project_id=abc").status_code == 400


def follow_next(client: TestClient, url: str, headers: dict[str, str] | None = None) -> list[Any]:
    """Every page from `url` on, by the `next` links: the answers, in order."""
    answers = []
    while True:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        answers.append(response)
        if "next" not in response.links:
            return answers
        url = response.links["next"]["url"]


def test_following_next_lists_every_row_once(client: TestClient, run, db) -> None:
    async def seed() -> tuple[int, int]:
        async with db.transaction():
            p1 = await add_project(db)
            p2 = await add_project(db, "moby", "moby")
            a = await add_user(db, "a")
            b = await add_user(db, "b")
            for n in range(36):  # every third closed, alternate projects and authors
                state = "closed" if n % 3 == 0 else "open"
                await add_pull_request(db, (p1, p2)[n % 2], (a, b)[n % 4 // 2], n, state=state)
        return p1, a

    p1, a = run(seed)
    for filters in ("", "&state=all", f"&project_id={p1}&state=all", f"&user_id={a}"):
        everything = client.get(f"/v1/pull_requests?per_page=1000{filters}").json()
        answers = follow_next(client, f"/v1/pull_requests?per_page=5{filters}")
        pages = [[pr["id"] for pr in answer.json()] for answer in answers]
        assert [i for page in pages for i in page] == [pr["id"] for pr in everything], filters
        # Full pages but the last, none empty; a total on the first page only.
        assert [len(page) for page in pages[:-1]] == [5] * (len(pages) - 1)
        assert 1 <= len(pages[-1]) <= 5
        assert answers[0].headers["X-Total-Count"] == str(len(everything))
        assert all("X-Total-Count" not in answer.headers for answer in answers[1:])
        cursors = [parse_qs(urlsplit(r.links["next"]["url"]).query)["after"] for r in answers[:-1]]
        assert cursors == [[str(page[-1])] for page in pages[:-1]]
