"""Each read route runs a fixed number of statements, however many rows there are."""

import asyncio

import pytest
from starlette.testclient import TestClient

from bot.store.paging import Totals
from bot.store.tables import pull_requests
from bot.store.users import DETAILS_LIMIT
from tests.factories import add_pull_request, add_release
from tests.factories import seed_reviewed_pull_requests as seed_pull_requests


async def seed(db, count: int) -> dict[str, int]:
    """`count` reviewed pull requests, and a tenth as many pending releases of two approvers."""
    ids = await seed_pull_requests(db, count)
    async with db.transaction():
        for n in range(count // 10):
            await add_release(db, release_id=str(n))
    return ids


def read_routes(ids: dict[str, int]) -> dict[str, str]:
    return {
        "projects": "/v1/projects",
        "users": "/v1/users",
        "pull_requests": "/v1/pull_requests?per_page=1000",
        "pull_request_details": f"/v1/pull_requests/{ids['pr']}?details=true",
        "user_details": f"/v1/users/{ids['approver']}?details=true",
        "idler_details": f"/v1/users/{ids['idler']}?details=true",
        "releases": "/v1/releases?per_page=1000",
        "queue": "/v1/queue?per_page=1000",
        "stats": "/v1/stats?days=365",
    }


def statements_per_route(client: TestClient, db, routes: dict[str, str]) -> dict[str, int]:
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
    routes = read_routes(ids)
    counts = statements_per_route(client, db, routes)
    # Fixed budgets: a count and a page for lists, the row plus one per details list;
    # releases add their approvers and their callbacks. The data version (for the ETag)
    # is counted apart, in `version_reads`. The lists in id order count their total once
    # per data version (bot/store/paging.py).
    assert counts == {
        "projects": 2,
        "users": 2,
        "pull_requests": 2,
        "pull_request_details": 2,
        "user_details": 4,
        "idler_details": 4,
        "releases": 4,
        # A count, a page and the page's pending requests.
        "queue": 3,
        # The projects, the first reviews of the period, the open requests per reviewer.
        "stats": 3,
    }
    # Asked again at the same data version, they skip the count; after a cursor, always.
    lists = ("projects", "users", "pull_requests")
    again = statements_per_route(client, db, {name: routes[name] for name in lists})
    assert again == {"projects": 1, "users": 1, "pull_requests": 1}
    paged = ("releases", "queue")
    assert statements_per_route(client, db, {name: routes[name] for name in paged}) == {
        "releases": 3,
        "queue": 2,
    }
    after = {name: f"{routes[name]}{'&' if '?' in routes[name] else '?'}after=1" for name in lists}
    assert statements_per_route(client, db, after) == again
    # A user's details are bounded: the most recent DETAILS_LIMIT of each, in id order.
    shown = min(count, DETAILS_LIMIT)
    approver = client.get(f"/v1/users/{ids['approver']}?details=true").json()
    idler = client.get(f"/v1/users/{ids['idler']}?details=true").json()
    for listed in (approver["approved_pull_requests"], idler["idled_pull_requests"]):
        pr_ids = [pr["id"] for pr in listed]
        assert pr_ids == list(range(ids["pr"] - shown + 1, ids["pr"] + 1))
    assert len(client.get("/v1/pull_requests?per_page=1000").json()) == count
    queue = client.get("/v1/queue?per_page=1000").json()
    assert [len(item["waiting_on"]) for item in queue] == [1] * count
    stats = client.get("/v1/stats?days=365").json()
    assert stats["reviewers"][0]["open_requests"] == count


def test_a_kept_total_moves_with_the_next_write(client: TestClient, run, db) -> None:
    """The queue's and the releases' totals are kept per data version: asked again they
    are not counted, and a write (which moves the version) has them counted afresh."""
    ids = run(seed, db, 20)
    urls = {"queue": "/v1/queue?per_page=5", "releases": "/v1/releases?per_page=1"}

    def totals() -> dict[str, str]:
        return {name: client.get(url).headers["x-total-count"] for name, url in urls.items()}

    assert totals() == totals() == {"queue": "20", "releases": "2"}

    async def write() -> None:
        async with db.transaction():
            pr = await db.fetch_one(pull_requests.select().where(pull_requests.c.id == ids["pr"]))
            await add_pull_request(db, pr["project_id"], pr["user_id"], 9999)
            await add_release(db, release_id="new")

    run(write)
    assert totals() == {"queue": "21", "releases": "3"}


@pytest.mark.parametrize("count", [1000])
def test_an_unchanged_answer_reads_the_data_version_only(
    client: TestClient, run, db, count
) -> None:
    """A 304 runs no statement of its route; the version costs one statement on SQLite
    and none on PostgreSQL, whose feed announces it (bot/store/version_feed.py)."""
    ids = run(seed, db, count)
    version_reads = 0 if db.is_postgres else 1
    for name, url in read_routes(ids).items():
        etag = client.get(url).headers["etag"]
        before, reads = db.query_count, db.version_reads
        response = client.get(url, headers={"If-None-Match": etag})
        assert (name, response.status_code, response.content) == (name, 304, b"")
        assert (db.query_count - before, db.version_reads - reads) == (0, version_reads), name


def test_concurrent_misses_share_one_count_and_a_failed_one_is_retried() -> None:
    async def scenario() -> None:
        totals, calls, go = Totals(), [], asyncio.Event()

        async def count() -> int:
            calls.append(1)
            await go.wait()
            if len(calls) == 1:
                raise ConnectionError("the first count fails")
            return 7

        waiting = [asyncio.create_task(totals.get("key", count)) for _ in range(4)]
        await asyncio.sleep(0)
        assert len(calls) == 1  # one counts, the others wait for it
        go.set()
        answers = await asyncio.gather(*waiting, return_exceptions=True)
        # The one that counted fails; one of the others counts again, for all the rest.
        assert [type(a).__name__ for a in answers] == ["ConnectionError", "int", "int", "int"]
        assert answers[1:] == [7, 7, 7] and len(calls) == 2
        assert await totals.get("key", count) == 7 and len(calls) == 2  # kept

    asyncio.run(scenario())
