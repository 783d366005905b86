"""ETag and 304 on every GET /v1/…: the tag moves after each kind of write, and only then."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import respx
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.testclient import TestClient

from bot.app import create_app
from bot.jobs.pull_requests import fetch_pull_requests
from bot.settings import Settings
from bot.store.database import Database
from bot.store.tables import users
from tests.factories import (
    add_project,
    add_pull_request,
    add_release,
    add_request,
    add_review,
    add_user,
    at,
)
from tests.fake_github import APP_ID, BASE_URL, Clock, FakeGitHub
from tests.webhook_client import deliver, payload

NOW = at(60)


@pytest.fixture
def clock(client: TestClient) -> Clock:
    clock = Clock(NOW)
    client.app.state.clock = clock  # type: ignore[attr-defined]
    return clock


def seed(run: Any, db: Any) -> dict[str, int]:
    async def fill() -> dict[str, int]:
        project = await add_project(db)
        author, reviewer = await add_user(db, "author"), await add_user(db, "reviewer")
        pr = await add_pull_request(db, project, author, 1)
        await add_review(db, pr, reviewer, "APPROVED", at(5))
        await add_request(db, pr, reviewer, at(1))
        release = await add_release(db, "Team", "1", now=NOW - timedelta(hours=1))
        return {"project": project, "user": reviewer, "pr": pr, "release": release}

    return run(fill)


def read_urls(ids: dict[str, int]) -> list[str]:
    return [
        "/v1/projects",
        f"/v1/projects/{ids['project']}",
        "/v1/users",
        f"/v1/users/{ids['user']}",
        f"/v1/users/{ids['user']}?details=true",
        "/v1/pull_requests",
        "/v1/pull_requests?state=all&per_page=5",
        f"/v1/pull_requests/{ids['pr']}?details=true",
        "/v1/releases",
        f"/v1/releases/{ids['release']}",
    ]


def etags(client: TestClient, urls: list[str]) -> dict[str, str]:
    tags = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.text)
        tags[url] = response.headers["etag"]
    return tags


def unchanged(client: TestClient, tags: dict[str, str]) -> list[str]:
    """The URLs whose held tag still gets a 304."""
    return [
        url
        for url, tag in tags.items()
        if client.get(url, headers={"If-None-Match": tag}).status_code == 304
    ]


def test_every_read_has_a_strong_etag_and_answers_304_with_no_body(
    client: TestClient, run, db, clock
) -> None:
    urls = read_urls(seed(run, db))
    tags = etags(client, urls)
    assert len(set(tags.values())) == len(urls)  # one per URL, query string included
    for url, tag in tags.items():
        assert tag.startswith('"') and tag.endswith('"'), tag  # strong: no W/
        assert client.get(url).headers["etag"] == tag
        response = client.get(url, headers={"If-None-Match": tag})
        assert (response.status_code, response.content) == (304, b""), url
        assert response.headers["etag"] == tag
        assert "content-type" not in response.headers
        assert response.headers["cache-control"] == "private, no-cache"
        # Lists of tags, and the weak form of ours, match too; other tags do not.
        listed = client.get(url, headers={"If-None-Match": f'"other", W/{tag}'})
        assert listed.status_code == 304
        assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
        assert client.head(url, headers={"If-None-Match": tag}).status_code == 304
    # Errors carry no tag to send back.
    assert "etag" not in client.get("/v1/projects/99999").headers
    assert "etag" not in client.get("/v1/pull_requests?state=nope").headers


def test_reads_and_writes_of_nothing_shown_leave_the_tags_alone(
    client: TestClient, auth, run, db, clock
) -> None:
    ids = seed(run, db)
    urls = read_urls(ids)
    first = payload("pull_request/opened")
    assert deliver(client, "pull_request", first, guid="delivery-1").status_code == 200
    tags = etags(client, urls)
    for url in urls:  # reads, many times
        client.get(url)
    # A duplicate delivery is acknowledged and changes nothing.
    assert deliver(client, "pull_request", first, guid="delivery-1").json()["detail"] == "duplicate"
    # Refused writes change nothing either.
    missing = client.patch("/v1/users/99999", json={"metadata": {"a": 1}}, headers=auth)
    assert missing.status_code == 404
    assert client.delete("/v1/projects/99999", headers=auth).status_code == 404
    # A pipeline polling a known release only reads.
    body = {"ReleaseName": "R 1", "ReleaseId": "1", "TeamProject": "Team"}
    assert client.post("/release", json=body, headers=auth).status_code == 200
    assert unchanged(client, tags) == urls


def test_a_webhook_moves_the_tags(client: TestClient, run, db, clock) -> None:
    tags = etags(client, read_urls(seed(run, db)))
    assert deliver(client, "pull_request", payload("pull_request/opened")).status_code == 200
    assert unchanged(client, tags) == []
    listed = client.get("/v1/pull_requests", headers={"If-None-Match": tags["/v1/pull_requests"]})
    assert len(listed.json()) == 2  # the new answer, with the delivered pull request


def test_a_patch_moves_the_tags(client: TestClient, auth, run, db, clock) -> None:
    ids = seed(run, db)
    url = f"/v1/users/{ids['user']}"
    tags = etags(client, read_urls(ids))
    patched = client.patch(url, json={"metadata": {"slack_id": "U1"}}, headers=auth)
    assert patched.status_code == 204
    assert url not in unchanged(client, tags)
    answer = client.get(url, headers={"If-None-Match": tags[url]})
    assert (answer.status_code, answer.json()["metadata"]) == (200, {"slack_id": "U1"})


def test_a_release_decision_moves_the_tags(client: TestClient, run, db, clock) -> None:
    ids = seed(run, db)
    url = f"/v1/releases/{ids['release']}"
    tags = etags(client, read_urls(ids))
    decided = client.post(
        "/approval", params={"token": "token-Team-1-0"}, json={"decision": "reject"}
    )
    assert decided.status_code == 200, decided.text
    assert url not in unchanged(client, tags)
    answer = client.get(url, headers={"If-None-Match": tags[url]})
    assert answer.json()["status"] == "rejected"


def test_a_release_tag_runs_out_when_its_tokens_do(client: TestClient, run, db, clock) -> None:
    ids = seed(run, db)  # its tokens expire 71 hours from now
    url = f"/v1/releases/{ids['release']}"
    tag = client.get(url).headers["etag"]
    clock.advance(hours=70)
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    clock.advance(hours=2)
    answer = client.get(url, headers={"If-None-Match": tag})
    assert (answer.status_code, answer.json()["status"]) == (200, "expired")
    # Expired for good: the new tag holds however late.
    clock.advance(days=300)
    assert client.get(url, headers={"If-None-Match": answer.headers["etag"]}).status_code == 304


@pytest.fixture(scope="module")
def app_key() -> tuple[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


@pytest.fixture
def settings(make_settings: Callable[..., Settings], app_key: tuple[str, Any]) -> Settings:
    """The service as an App, against the fake GitHub (which only the poll test mounts)."""
    return make_settings(
        GITHUB_APP_ID=APP_ID, GITHUB_PRIVATE_KEY=app_key[0], GITHUB_API_URL=BASE_URL
    )


@pytest.fixture
def github(client: TestClient, clock: Clock, app_key: tuple[str, Any]) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(app_key[1], clock)
    client.app.state.github.sleep_scale = 0  # type: ignore[attr-defined]
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        yield fake


def test_a_poll_moves_the_tags(client: TestClient, auth, run, db, clock, github) -> None:
    repo = github.add_repo("docker", "cli", installation_id=11)
    repo.add_pull(7, "alice", clock.advance(hours=-1), requested=("bob",))
    clock.advance(hours=1)
    created = client.post(
        "/v1/projects", json={"name": "d", "repo_owner": "docker", "repo_name": "cli"}, headers=auth
    )
    assert created.status_code == 201
    tags = etags(client, ["/v1/projects", "/v1/pull_requests", "/v1/users"])
    outcome = run(fetch_pull_requests, client.app.state)  # type: ignore[attr-defined]
    assert outcome.counts.added == 1
    assert unchanged(client, tags) == []
    assert [p["number"] for p in client.get("/v1/pull_requests").json()] == [7]


def test_a_commit_whose_bump_was_lost_is_caught_by_the_next_start(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    """A process that died between its commit and its bump: the next start moves the version."""
    settings = make_settings()
    with TestClient(create_app(settings)) as client:
        uid = client.portal.call(add_user, client.app.state.db, "ann")  # type: ignore
        tag = client.get(f"/v1/users/{uid}").headers["etag"]

    async def commit_without_bump() -> None:  # what the dead process left behind
        raw = Database(database_url)
        await raw.connect()
        try:
            await raw._db.execute(users.update().values(username="ann-renamed"))
        finally:
            await raw.disconnect()

    asyncio.run(commit_without_bump())
    with TestClient(create_app(settings)) as client:
        answer = client.get(f"/v1/users/{uid}", headers={"If-None-Match": tag})
        assert (answer.status_code, answer.json()["username"]) == (200, "ann-renamed")


def test_every_write_transaction_moves_the_version_once_and_reads_never(
    client: TestClient, auth, run, db, clock
) -> None:
    ids = seed(run, db)
    url = f"/v1/users/{ids['user']}"
    version = run(db.data_version)
    bumps = db.bumps

    async def patch_many() -> None:
        from bot.store.users import update_metadata

        await asyncio.gather(*(update_metadata(db, ids["user"], {f"k{n}": n}) for n in range(8)))

    run(patch_many)
    assert db.bumps - bumps == 8
    assert run(db.data_version) >= version + 8
    assert len(client.get(url).json()["metadata"]) == 8
    bumps = db.bumps
    run(db.fetch_all, sa.select(users))
    etags(client, read_urls(ids))
    assert db.bumps == bumps


def test_a_bump_that_fails_after_its_commit_is_paid_before_the_next_read(
    client: TestClient, auth, run, db, clock
) -> None:
    if not db.is_postgres:
        pytest.skip("on SQLite the bump is part of the transaction")
    ids = seed(run, db)
    url = f"/v1/users/{ids['user']}"
    tag = client.get(url).headers["etag"]

    async def patch_while_the_sequence_is_away() -> None:
        from bot.store.users import update_metadata

        # Past our Database, which would bump after this statement too.
        ddl = db._db.execute
        await ddl("ALTER SEQUENCE data_version RENAME TO data_version_away")
        try:
            await update_metadata(db, ids["user"], {"k": 1})  # commits; its bump fails
            await asyncio.sleep(0.05)  # the retry in the background fails too
        finally:
            await ddl("ALTER SEQUENCE data_version_away RENAME TO data_version")

    run(patch_while_the_sequence_is_away)
    answer = client.get(url, headers={"If-None-Match": tag})
    assert (answer.status_code, answer.json()["metadata"]) == (200, {"k": 1})


def test_a_read_holds_its_connection_from_its_first_statement_to_its_answer(
    settings: Settings, run, db
) -> None:
    """Taken at the first statement, given back before the answer is sent and logged:
    sixteen polls at once share the pool's ten connections."""
    if not db.is_postgres:
        pytest.skip("SQLite's connections are not pooled per request")
    ids = seed(run, db)
    app = create_app(settings)
    in_use: list[tuple[str, int]] = []

    def pool_in_use() -> int:
        pool = app.state.db._db._backend._pool
        return pool.get_size() - pool.get_idle_size()

    async def watched(scope, receive, send) -> None:  # outside every middleware
        async def noting(message) -> None:
            if message["type"] == "http.response.start":
                in_use.append((scope["path"], pool_in_use()))
            await send(message)

        await app(scope, receive, noting)

    with TestClient(watched) as client:  # type: ignore[arg-type]
        urls = read_urls(ids)
        tags = etags(client, urls)
        assert unchanged(client, tags) == urls
        assert client.get("/v1/pull_requests/999999").status_code == 404
    assert len(in_use) == 2 * len(urls) + 1
    assert [path for path, used in in_use if used] == []


def test_the_description_says_so_for_every_read(client: TestClient) -> None:
    spec = client.get("/docs.json").json()
    reads = {p: ops["get"] for p, ops in spec["paths"].items() if p.startswith("/v1/")}
    assert len(reads) >= 8
    for path, op in reads.items():
        assert op["security"] == [{"bearer": []}, {"session": []}, {}], path
        assert {"304", "401", "403"} <= set(op["responses"]), path
        assert "ETag" in op["responses"]["200"]["headers"], path
        assert any(p["name"] == "If-None-Match" and p["in"] == "header" for p in op["parameters"])
    session = spec["components"]["securitySchemes"]["session"]
    assert (session["type"], session["in"], session["name"]) == (
        "apiKey",
        "cookie",
        "reviewer_session",
    )


def _another_process_renames(database_url: str, user_id: int, name: str) -> None:
    """A change committed by another process's Database (a CLI run, another worker)."""

    async def rename() -> None:
        other = Database(database_url)
        await other.connect()
        try:
            async with other.transaction():
                await other.execute(
                    users.update().where(users.c.id == user_id).values(username=name)
                )
        finally:
            await other.disconnect()

    asyncio.run(rename())


def _until(run: Any, check: Callable[[], Any]) -> None:
    """Wait for what another connection announces (at most 10 s: a notification, not a timing)."""

    async def wait() -> None:
        for _ in range(1000):
            if check():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("never came")

    run(wait)


@pytest.fixture
def user_url(auth, run, db) -> tuple[int, str]:
    """On PostgreSQL, whose feed announces the version: a user and their URL."""
    if not db.is_postgres:
        pytest.skip("the version is announced on PostgreSQL; SQLite reads it each time")
    user = seed(run, db)["user"]
    return user, f"/v1/users/{user}"


def test_another_process_s_change_is_announced_and_its_old_tags_stop_matching(
    client: TestClient, run, db, database_url: str, user_url: tuple[int, str]
) -> None:
    user, url = user_url
    tag = client.get(url).headers["etag"]
    reads = db.version_reads
    before = db.feed.value
    _another_process_renames(database_url, user, "renamed-elsewhere")
    _until(run, lambda: db.feed.value != before)
    answer = client.get(url, headers={"If-None-Match": tag})
    assert (answer.status_code, answer.json()["username"]) == (200, "renamed-elsewhere")
    assert db.version_reads == reads  # all from the feed, no statement


def test_while_the_feed_is_cut_the_version_is_read_and_the_feed_comes_back(
    client: TestClient, run, db, database_url: str, user_url: tuple[int, str]
) -> None:
    user, url = user_url
    feed = db.feed
    pid = feed._connection.get_server_pid()
    run(db.execute, sa.text(f"SELECT pg_terminate_backend({pid})"))
    _until(run, lambda: feed.value is None)
    # Cut off, nothing is announced to us: the version is read, so nothing stale is served.
    tag = client.get(url).headers["etag"]
    reads = db.version_reads
    _another_process_renames(database_url, user, "renamed-while-cut")
    answer = client.get(url, headers={"If-None-Match": tag})
    assert (answer.status_code, answer.json()["username"]) == (200, "renamed-while-cut")
    assert db.version_reads > reads
    _until(run, lambda: feed.value is not None and feed._connection.get_server_pid() != pid)
    tag = answer.headers["etag"]
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
