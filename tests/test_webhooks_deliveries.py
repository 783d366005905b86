"""Exactly once: repeated GUIDs, concurrent copies, failures and redelivery."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import sqlalchemy as sa
from starlette.testclient import TestClient

from bot.app import create_app
from bot.logs import JSONFormatter
from bot.store import deliveries
from bot.store.tables import webhook_deliveries
from tests.conftest import _pg_admin, _server_url
from tests.factories import at
from tests.github_events import PullRequest, pull_request_event
from tests.webhook_client import WEBHOOK_PATH, deliver, encode, headers, payload


def test_a_repeated_guid_is_acknowledged_and_not_applied_again(client: TestClient, run, db):
    first = PullRequest(21, 7, at(1), title="first")
    assert deliver(client, "pull_request", pull_request_event("opened", first), "dup").json() == {
        "detail": "applied",
        "delivery": "dup",
    }
    # Same GUID, different (newer) content: were it applied, the title would change.
    newer = pull_request_event("edited", first.but(updated_at=at(2), title="second"))
    answer = deliver(client, "pull_request", newer, guid="dup")
    assert answer.status_code == 200
    assert answer.json() == {"detail": "duplicate", "delivery": "dup"}
    [pr] = client.get("/v1/pull_requests").json()
    assert pr["title"] == "first"
    rows = run(db.fetch_all, webhook_deliveries.select())
    assert [(r["guid"], r["event"], r["action"], r["outcome"]) for r in rows] == [
        ("dup", "pull_request", "opened", "applied")
    ]


def test_two_copies_at_once_are_applied_once(client: TestClient, run, db) -> None:
    body = encode(pull_request_event("opened", PullRequest(22, 8, at(1))))

    async def post_both():
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            sent = headers("pull_request", body, guid="twin")
            answers = await asyncio.gather(
                *(http.post(WEBHOOK_PATH, content=body, headers=sent) for _ in range(2))
            )
        return sorted((a.status_code, a.json()["detail"]) for a in answers)

    assert run(post_both) == [(200, "applied"), (200, "duplicate")]
    assert run(db.fetch_val, sa.select(sa.func.count()).select_from(webhook_deliveries)) == 1
    assert len(client.get("/v1/pull_requests").json()) == 1


def _break_reviews(db, run) -> None:
    """Make every insert into reviews fail inside the database, as an outage would."""
    if db.is_postgres:
        run(
            db.execute,
            sa.text(
                "CREATE FUNCTION reviews_down() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'reviews unavailable'; END $$"
            ),
        )
        run(
            db.execute,
            sa.text(
                "CREATE TRIGGER reviews_down BEFORE INSERT ON reviews "
                "FOR EACH ROW EXECUTE FUNCTION reviews_down()"
            ),
        )
    else:
        run(
            db.execute,
            sa.text(
                "CREATE TRIGGER reviews_down BEFORE INSERT ON reviews "
                "BEGIN SELECT RAISE(ABORT, 'reviews unavailable'); END"
            ),
        )


def _repair_reviews(db, run) -> None:
    run(
        db.execute, sa.text("DROP TRIGGER reviews_down" + (" ON reviews" if db.is_postgres else ""))
    )
    if db.is_postgres:
        run(db.execute, sa.text("DROP FUNCTION reviews_down()"))


def test_a_failure_mid_delivery_rolls_back_and_a_redelivery_applies_it(
    client: TestClient, run, db
) -> None:
    review = payload("pull_request_review/submitted")
    _break_reviews(db, run)
    try:
        answer = deliver(client, "pull_request_review", review, guid="flaky")
        assert answer.status_code == 500
        assert answer.json()["detail"].startswith("the delivery could not be applied")
        # Nothing half-applied: the project, author and pull request went with the review.
        assert client.get("/v1/pull_requests?state=all").json() == []
        assert client.get("/v1/users").json() == []
        assert client.get("/v1/projects").json() == []
        failed = run(deliveries.get_delivery, db, "flaky")
        assert (failed["outcome"], failed["applied_at"]) == ("failed", None)
        assert "reviews unavailable" in failed["error"]
        # GitHub retries while the database is still down: still failed, still recorded.
        assert deliver(client, "pull_request_review", review, guid="flaky").status_code == 500
        assert run(deliveries.get_delivery, db, "flaky")["outcome"] == "failed"
    finally:
        _repair_reviews(db, run)

    answer = deliver(client, "pull_request_review", review, guid="flaky")
    assert answer.status_code == 200
    assert answer.json()["detail"] == "applied"
    [pr] = client.get("/v1/pull_requests").json()
    assert client.get(f"/v1/pull_requests/{pr['id']}?details=true").json()["commenters"] == [
        "Codertocat"
    ]
    applied = run(deliveries.get_delivery, db, "flaky")
    assert (applied["outcome"], applied["error"]) == ("applied", None)
    assert applied["applied_at"] is not None
    # And now it is done: a further copy is a duplicate.
    assert deliver(client, "pull_request_review", review, guid="flaky").json()["detail"] == (
        "duplicate"
    )


def test_a_malformed_payload_is_422_recorded_and_applies_nothing(client: TestClient, run, db):
    data = payload("pull_request/opened")
    del data["pull_request"]["title"]
    answer = deliver(client, "pull_request", data, guid="broken")
    assert answer.status_code == 422
    assert "pull_request.title" in answer.json()["detail"]
    row = run(deliveries.get_delivery, db, "broken")
    assert row["outcome"] == "failed" and "pull_request.title" in row["error"]
    assert client.get("/v1/projects").json() == []
    no_pr = payload("pull_request/opened")
    del no_pr["pull_request"]
    assert deliver(client, "pull_request", no_pr).status_code == 422


def test_one_json_log_line_per_delivery(client: TestClient) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("bot.github.webhooks")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        deliver(client, "pull_request", payload("pull_request/opened"), guid="log-1")
        deliver(client, "pull_request", payload("pull_request/opened"), guid="log-1")
        deliver(client, "ping", payload("ping"), guid="log-2", secret="wrong")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [
        (x["delivery_id"], x["event"], x["action"], x["outcome"], x["status"]) for x in lines
    ] == [
        ("log-1", "pull_request", "opened", "applied", 200),
        ("log-1", "pull_request", "opened", "duplicate", 200),
        ("log-2", "ping", None, "rejected", 401),
    ]
    assert all(isinstance(x["duration_ms"], float) for x in lines)
    assert "sha256=" not in stream.getvalue()


def test_a_delivery_is_a_handful_of_statements(client: TestClient, db) -> None:
    counts = {}
    for event, name in (
        ("pull_request", "pull_request/opened"),
        ("pull_request", "pull_request/review_requested"),
        ("pull_request_review", "pull_request_review/submitted"),
        ("installation", "installation/created"),
    ):
        before = db.query_count
        assert deliver(client, event, payload(name)).status_code == 200
        counts[name] = db.query_count - before
    assert all(1 < count <= 9 for count in counts.values()), counts


async def _terminate_connections(database: str) -> None:
    conn = await asyncpg.connect(_server_url("postgres"), timeout=5)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database
        )
    finally:
        await conn.close()


@contextlib.contextmanager
def database_down(settings) -> Iterator[None]:
    """The app's database refuses connections inside the block, then comes back."""
    url = settings.database_url
    if settings.is_postgres:
        name = url.rpartition("/")[2]
        # Refuse new connections, then cut the app's.
        asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        asyncio.run(_terminate_connections(name))
        try:
            yield
        finally:
            asyncio.run(_pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    else:
        folder = Path(url.removeprefix("sqlite:///")).parent
        hidden = folder.with_name(folder.name + "-away")
        folder.rename(hidden)
        try:
            yield
        finally:
            hidden.rename(folder)


def test_the_database_down_then_back_a_redelivery_applies_it(
    make_settings, database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        # A folder of its own, so taking the database away touches nothing else.
        folder = tmp_path / "data"
        folder.mkdir()
        shutil.copy(database_url.removeprefix("sqlite:///"), folder / "reviewer.db")
        database_url = f"sqlite:///{folder}/reviewer.db"
    settings = make_settings(DATABASE_URL=database_url)
    opened = payload("pull_request/opened")
    with TestClient(create_app(settings)) as client:
        assert deliver(client, "ping", payload("ping")).status_code == 200
        with database_down(settings):
            answer = deliver(client, "pull_request", opened, guid="outage")
            assert answer.status_code in (500, 503)
            assert answer.json()["detail"].startswith("the delivery could not be applied")
        answer = deliver(client, "pull_request", opened, guid="outage")
        assert (answer.status_code, answer.json()["detail"]) == (200, "applied")
        [pr] = client.get("/v1/pull_requests").json()
        assert pr["github_id"] == opened["pull_request"]["id"]


def test_a_review_delivery_costs_one_statement_more_than_its_pull_request(
    client: TestClient,
) -> None:
    """The review's author is read with the pull request's people (one statement), and a
    new one is inserted with the other new people (one more), never alone; people already
    stored under the same login are read, not written (no row lock held on them)."""
    from tests.github_events import HUBOT, OCTOCAT, review_event

    pr = PullRequest(31, 9, at(1), reviewers=(OCTOCAT,))
    assert deliver(client, "pull_request", pull_request_event("opened", pr)).status_code == 200
    db = client.app.state.db  # type: ignore[attr-defined]

    def cost(event: str, data: dict) -> int:
        before = db.query_count
        assert deliver(client, event, data).json()["detail"] == "applied"
        return db.query_count - before

    edited = cost("pull_request", pull_request_event("edited", pr.but(updated_at=at(2))))
    first = cost(
        "pull_request_review",
        review_event("submitted", pr.but(updated_at=at(3)), 601, HUBOT, "commented", at(3)),
    )
    again = cost(
        "pull_request_review",
        review_event("submitted", pr.but(updated_at=at(4)), 602, HUBOT, "commented", at(4)),
    )
    assert (first, again) == (edited + 2, edited + 1)


def test_a_transaction_cancelled_at_begin_gives_its_connection_back(settings, client, run, db):
    """A job cancelled at shutdown while its transaction begins: `databases` (0.9) kept the
    connection it took for BEGIN, and the pool's close at shutdown waited for it for ever."""
    if not settings.is_postgres:
        import pytest

        pytest.skip("the pool is asyncpg's")

    async def cancel_at_begin() -> int:
        await db.execute(sa.text("SELECT 1"))  # the pool holds an idle connection

        async def work() -> None:
            async with db.transaction():
                await db.execute(sa.text("SELECT 1"))

        task = asyncio.create_task(work())
        await asyncio.sleep(0)  # the task takes the connection and waits for BEGIN's answer
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        pool = db._db._backend._pool  # asyncpg's
        deadline = asyncio.get_running_loop().time() + 10  # only keeps a broken test finite
        while pool._queue.qsize() < pool._maxsize:
            assert asyncio.get_running_loop().time() < deadline, "a connection never came back"
            await asyncio.sleep(0.01)
        return pool._queue.qsize()

    assert run(cancel_at_begin) == 10


def test_the_read_api_answers_503_while_the_database_is_down(
    make_settings, database_url: str, tmp_path: Path
) -> None:
    """Not a 500 and a dropped connection: a 503 a client may retry, then answers again."""
    if database_url.startswith("sqlite"):
        folder = tmp_path / "data"
        folder.mkdir()
        shutil.copy(database_url.removeprefix("sqlite:///"), folder / "reviewer.db")
        database_url = f"sqlite:///{folder}/reviewer.db"
    settings = make_settings(DATABASE_URL=database_url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert client.get("/v1/pull_requests").status_code == 200
        with database_down(settings):
            for path in ("/v1/pull_requests", "/v1/users", "/v1/projects"):
                answer = client.get(path)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.json() == {"detail": "the database is unavailable; try again shortly"}
                assert answer.headers["retry-after"] == "5"
            assert client.get("/readyz").status_code == 503
            opened = deliver(client, "pull_request", payload("pull_request/opened"), "down")
            assert opened.status_code == 503
        assert client.get("/readyz").status_code == 200
        assert client.get("/v1/pull_requests").json() == []
