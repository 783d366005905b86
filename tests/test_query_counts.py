"""Each read route runs a fixed number of statements, however many rows there are."""

import itertools

import pytest
from starlette.testclient import TestClient

from bot.store.tables import pull_requests, review_requests, reviews
from tests.factories import T0, add_project, add_user, at

_github_ids = itertools.count(10_000_000)


async def seed(db, count: int) -> dict[str, int]:
    """`count` open PRs in one project, each approved, commented on and idled on."""
    async with db.transaction():  # one commit, not one per row
        return await _seed(db, count)


async def _seed(db, count: int) -> dict[str, int]:
    project = await add_project(db)
    author = await add_user(db, "author")
    approver = await add_user(db, "approver")
    commenter = await add_user(db, "commenter")
    idler = await add_user(db, "idler")
    await db.execute_many(
        pull_requests.insert(),
        [
            {
                "github_id": next(_github_ids),
                "project_id": project,
                "user_id": author,
                "number": n,
                "title": f"PR {n}",
                "url": f"https://github.com/o/r/pull/{n}",
                "state": "open",
                "draft": False,
                "merged": False,
                "created_at": T0,
                "updated_at": T0,
            }
            for n in range(1, count + 1)
        ],
    )
    pr_ids = [row["id"] for row in await db.fetch_all(pull_requests.select())]
    await db.execute_many(
        reviews.insert(),
        [
            {
                "github_id": next(_github_ids),
                "pull_request_id": pr,
                "user_id": user,
                "state": state,
                "submitted_at": at(10),
            }
            for pr in pr_ids
            for user, state in ((approver, "APPROVED"), (commenter, "COMMENTED"))
        ],
    )
    await db.execute_many(
        review_requests.insert(),
        [{"pull_request_id": pr, "user_id": idler, "requested_at": at(20)} for pr in pr_ids],
    )
    return {"approver": approver, "idler": idler, "pr": pr_ids[-1]}


def statements_per_route(client: TestClient, db, ids: dict[str, int]) -> dict[str, int]:
    routes = {
        "projects": "/v1/projects",
        "users": "/v1/users",
        "pull_requests": "/v1/pull_requests?per_page=1000",
        "pull_request_details": f"/v1/pull_requests/{ids['pr']}?details=true",
        "user_details": f"/v1/users/{ids['approver']}?details=true",
        "idler_details": f"/v1/users/{ids['idler']}?details=true",
    }
    counts = {}
    for name, url in routes.items():
        before = db.query_count
        response = client.get(url)
        assert response.status_code == 200, response.text
        counts[name] = db.query_count - before
    return counts


@pytest.mark.parametrize("count", [10, 1000])
def test_statement_counts_do_not_grow_with_rows(client: TestClient, run, db, count) -> None:
    ids = run(seed, db, count)
    counts = statements_per_route(client, db, ids)
    # Fixed budgets: a count and a page for lists, the row plus one per details list.
    assert counts == {
        "projects": 2,
        "users": 2,
        "pull_requests": 2,
        "pull_request_details": 2,
        "user_details": 4,
        "idler_details": 4,
    }
    approver = client.get(f"/v1/users/{ids['approver']}?details=true").json()
    assert len(approver["approved_pull_requests"]) == count
    idler = client.get(f"/v1/users/{ids['idler']}?details=true").json()
    assert len(idler["idled_pull_requests"]) == count
    assert len(client.get("/v1/pull_requests?per_page=1000").json()) == count
