"""PullRequestFetcher and ReviewFetcher against a respx-mocked GitHub, on both backends.

GitHub is faked at the HTTP edge (tests/fake_github.py) from real payloads: pages
with `Link` headers, ETags answered with 304, App JWTs checked with the App's public
key, installation tokens that expire. Everything of ours runs for real: the app's
lifespan, the GitHub client, the fetchers, the database, the read API.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.jobs.pull_requests import fetch_pull_requests
from bot.jobs.reviews import fetch_reviews_cycle
from bot.progress import Progress
from tests.fake_github import APP_ID, BASE_URL, Clock, FakeGitHub

DOCKER = {"name": "The Docker CLI", "repo_owner": "docker", "repo_name": "cli"}
MOBY = {"name": "Moby", "repo_owner": "moby", "repo_name": "moby"}


@pytest.fixture(scope="session")
def app_key() -> tuple[str, Any]:
    """A real RSA key for the App: PEM for the settings, the public half for the fake."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


@pytest.fixture
def settings(make_settings, app_key):
    return make_settings(
        GITHUB_APP_ID=APP_ID, GITHUB_PRIVATE_KEY=app_key[0], GITHUB_API_URL=BASE_URL
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def github(app_key, clock) -> Any:
    fake = FakeGitHub(app_key[1], clock)
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        yield fake


@pytest.fixture
def state(client, clock, github) -> Any:
    """The app's state, on the test's clock, with waits recorded but not slept."""
    app_state = client.app.state
    app_state.clock = clock
    app_state.github.sleep_scale = 0
    app_state.github.per_page = 2  # three pull requests make two pages
    return app_state


def add_docker(github: FakeGitHub, clock: Clock) -> Any:
    """docker/cli: three open pull requests, reviews, user and team review requests."""
    repo = github.add_repo("docker", "cli", installation_id=11)
    t = clock.advance(days=-10)
    repo.add_pull(1, "alice", t, requested=("bob",), title="Fix prune warning")
    repo.add_pull(2, "alice", clock.advance(hours=1), requested=("bob", "carol"), teams=("core",))
    repo.add_pull(3, "dave", clock.advance(hours=1), requested=("carol",))
    repo.add_review(1, "carol", "approved", clock.advance(hours=1))
    repo.add_review(3, "bob", "commented", clock.advance(hours=1))
    clock.advance(days=10)
    return repo


def create(client, auth, body: dict) -> dict:
    response = client.post("/v1/projects", json=body, headers=auth)
    assert response.status_code == 201
    return response.json()


def sync(run, state) -> tuple[Any, Any]:
    return run(fetch_pull_requests, state), run(fetch_reviews_cycle, state)


def details(client, number: int) -> dict:
    listed = client.get("/v1/pull_requests?state=all").json()
    pr = next(p for p in listed if p["number"] == number)
    return client.get(f"/v1/pull_requests/{pr['id']}?details=true").json()


def test_first_sync_fills_the_store(client, auth, run, state, github, clock) -> None:
    add_docker(github, clock)
    project = create(client, auth, DOCKER)
    assert project["installed"] is None

    prs, reviews = sync(run, state)

    assert (prs.projects, prs.failed, prs.counts.added, prs.counts.closed) == (1, 0, 3, 0)
    assert (reviews.counts.checked, reviews.counts.reviews) == (3, 2)
    project = client.get(f"/v1/projects/{project['id']}").json()
    assert (project["installed"], project["installation_id"]) == (True, 11)
    assert project["github_id"] == github.repos["docker/cli"].id
    pulls = client.get("/v1/pull_requests").json()
    assert sorted((p["number"], p["title"]) for p in pulls) == [
        (1, "Fix prune warning"),
        (2, "Change number 2"),
        (3, "Change number 3"),
    ]
    one, two, three = details(client, 1), details(client, 2), details(client, 3)
    assert (one["author"], one["approvers"], one["idlers"]) == ("alice", ["carol"], ["bob"])
    assert (two["author"], two["idlers"]) == ("alice", ["bob", "carol"])
    assert (three["author"], three["commenters"], three["idlers"]) == ("dave", ["bob"], ["carol"])
    # The listing was paged through its Link header, as the App (JWT) found the installation.
    assert [c.query.get("page", "1") for c in github.calls_to(r"/pulls$")][:2] == ["1", "2"]
    assert len(github.calls_to(r"/installation$")) == 1
    assert len(github.calls_to(r"/access_tokens$")) == 1


def test_second_sync_with_nothing_changed_makes_only_conditional_requests(
    client, auth, run, state, github, clock
) -> None:
    add_docker(github, clock)
    create(client, auth, DOCKER)
    sync(run, state)
    left_before = state.github.rate_limit_left()
    github.reset_calls()
    clock.advance(minutes=15)

    prs, reviews = sync(run, state)

    # Two pages of open pull requests for PullRequestFetcher, one for ReviewFetcher
    # (it stops at the first pull request not updated since its last pass).
    assert len(github.calls) == 3
    assert all(c.conditional and c.status == 304 for c in github.calls)
    assert (prs.requests, prs.not_modified) == (2, 2)
    assert (reviews.requests, reviews.not_modified) == (1, 1)
    assert (prs.counts.added, prs.counts.updated, reviews.counts.checked) == (0, 0, 0)
    assert state.github.rate_limit_left() == left_before  # a 304 costs nothing


def test_closed_pr_added_review_and_removed_request_are_all_found(
    client, auth, run, state, github, clock
) -> None:
    repo = add_docker(github, clock)
    create(client, auth, DOCKER)
    sync(run, state)
    clock.advance(minutes=30)
    repo.close(1, clock.advance(minutes=1), merged=True)
    repo.add_review(2, "bob", "approved", clock.advance(minutes=1))
    repo.remove_request(3, "carol", clock.advance(minutes=1))
    clock.advance(minutes=10)
    github.reset_calls()

    prs, reviews = sync(run, state)

    assert (prs.counts.closed, reviews.counts.reviews) == (1, 1)
    one = details(client, 1)
    assert (one["state"], one["merged"], one["idlers"]) == ("closed", True, [])
    two = details(client, 2)
    assert (two["approvers"], two["idlers"]) == (["bob"], ["carol"])
    assert details(client, 3)["idlers"] == []
    # The closed pull request was fetched once; only the two changed ones had reviews fetched.
    assert len(github.calls_to(r"/pulls/1$")) == 1
    assert sorted(c.path for c in github.calls_to(r"/reviews$")) == [
        "/repos/docker/cli/pulls/2/reviews",
        "/repos/docker/cli/pulls/3/reviews",
    ]


def test_a_renamed_repository_is_followed_by_its_id(client, auth, run, state, github, clock):
    """GitHub answers a moved repository's old name with a 301: the project follows it."""
    repo = add_docker(github, clock)
    project = create(client, auth, DOCKER)
    sync(run, state)
    github.move(repo, "docker-archive", "cli-legacy")
    repo.add_pull(4, "erin", clock.advance(minutes=1))
    clock.advance(minutes=15)
    github.reset_calls()

    prs, reviews = sync(run, state)

    assert (prs.projects, prs.failed, prs.counts.added) == (1, 0, 1)
    assert (reviews.projects, reviews.failed, reviews.counts.checked) == (1, 0, 1)
    shown = client.get(f"/v1/projects/{project['id']}").json()
    assert (shown["repo_owner"], shown["repo_name"], shown["name"]) == (
        "docker-archive",
        "cli-legacy",
        "The Docker CLI",
    )
    assert details(client, 4)["author"] == "erin"
    # One 301, one look-up by id; then the new name, by both fetchers.
    assert [c.status for c in github.calls_to(r"^/repos/docker/cli/")] == [301]
    assert len(github.calls_to(rf"^/repositories/{repo.id}$")) == 1
    assert len(github.calls_to(r"^/repos/docker-archive/cli-legacy/pulls$")) >= 2


def test_a_project_without_the_app_is_skipped_and_says_so(
    client, auth, run, state, github, clock
) -> None:
    add_docker(github, clock)
    github.add_repo("moby", "moby", installation_id=None)
    create(client, auth, DOCKER)
    moby = create(client, auth, MOBY)
    report = io.StringIO()

    summary = run(fetch_pull_requests, state, None, Progress(report, indent=""))
    lines = report.getvalue().splitlines()

    assert (summary.projects, summary.skipped) == (1, 1)
    assert "moby/moby: skipped, the App is not installed on it" in lines
    shown = client.get(f"/v1/projects/{moby['id']}").json()
    assert (shown["installed"], shown["installation_id"]) == (False, None)
    assert client.get("/v1/pull_requests").json()[0]["project_id"] != moby["id"]


def test_an_uninstalled_app_is_noticed(client, auth, run, state, github, clock) -> None:
    add_docker(github, clock)
    project = create(client, auth, DOCKER)
    run(fetch_pull_requests, state)
    github.uninstall(11)
    state.github.tokens.forget(11)  # as after the hour a token lives

    summary = run(fetch_reviews_cycle, state)

    assert (summary.projects, summary.skipped, summary.failed) == (0, 1, 0)
    shown = client.get(f"/v1/projects/{project['id']}").json()
    assert (shown["installed"], shown["installation_id"]) == (False, None)


def test_502_and_a_timeout_are_retried(client, auth, run, state, github, clock) -> None:
    add_docker(github, clock)
    create(client, auth, DOCKER)
    github.fail_next("GET", r"/pulls$", status=502)
    github.fail_next("GET", r"/pulls/\d+/reviews$", exception=httpx.ReadTimeout)

    prs, reviews = sync(run, state)

    assert (prs.failed, prs.counts.added, prs.retries) == (0, 3, 1)
    assert (reviews.failed, reviews.counts.reviews, reviews.retries) == (0, 2, 1)
    assert [c.status for c in github.calls_to(r"/pulls$")][:2] == [502, 200]
    assert state.github.stats.waits == [state.github.backoff(1)] * 2


def test_secondary_rate_limit_waits_as_retry_after_says(
    client, auth, run, state, github, clock
) -> None:
    add_docker(github, clock)
    create(client, auth, DOCKER)
    github.fail_next("GET", r"/pulls$", status=429, headers={"retry-after": "7"})
    github.fail_next("GET", r"/reviews$", status=403, headers={"retry-after": "3"})

    prs, reviews = sync(run, state)

    assert (prs.counts.added, reviews.counts.reviews) == (3, 2)
    assert state.github.stats.waits == [7.0, 3.0]


def test_a_long_secondary_rate_limit_stops_the_cycle(
    client, auth, run, state, github, clock
) -> None:
    add_docker(github, clock)
    create(client, auth, DOCKER)
    create(client, auth, MOBY)
    github.fail_next("GET", r"/pulls$", status=403, headers={"retry-after": "3600"})

    summary = run(fetch_pull_requests, state)

    assert (summary.projects, summary.failed) == (0, 0)
    assert "secondary rate limit" in summary.stopped and "docker/cli" in summary.stopped
    assert state.github.stats.waits == []
    assert not github.calls_to(r"^/repos/moby")


def test_installation_token_expiring_mid_run_is_renewed(
    client, auth, run, state, github, clock
) -> None:
    add_docker(github, clock)
    create(client, auth, DOCKER)
    github.token_lifetime = 2 * state.github.tokens.refresh_margin
    github.before_answer = lambda: clock.advance(minutes=3)  # each answer takes 3 minutes

    prs, reviews = sync(run, state)

    assert (prs.failed, reviews.failed) == (0, 0)
    assert (prs.counts.added, reviews.counts.reviews) == (3, 2)
    tokens = [c.auth for c in github.calls if c.path.startswith("/repos/docker/cli/pulls")]
    assert len(set(tokens)) >= 2  # renewed before it expired, never sent once expired
    assert len(github.calls_to(r"/access_tokens$")) == len(set(tokens))
    assert not [c for c in github.calls if c.status == 401]


def test_token_refused_by_github_is_renewed_once(client, auth, run, state, github, clock) -> None:
    add_docker(github, clock)
    create(client, auth, DOCKER)
    run(fetch_pull_requests, state)
    github.tokens.clear()  # GitHub forgot every token (revoked, or expired early)

    summary = run(fetch_reviews_cycle, state)

    assert (summary.failed, summary.counts.reviews) == (0, 2)
    statuses = [c.status for c in github.calls if c.path.startswith("/repos/docker")]
    assert statuses.count(401) == 1
    assert len(github.calls_to(r"/access_tokens$")) == 2


def test_one_failing_project_does_not_stop_the_others(
    client, auth, run, state, github, clock
) -> None:
    add_docker(github, clock)
    moby = github.add_repo("moby", "moby", installation_id=12)
    moby.add_pull(7, "erin", clock.advance(days=-1))
    clock.advance(days=1)
    create(client, auth, DOCKER)
    create(client, auth, MOBY)
    github.fail_next("GET", r"^/repos/docker/cli/pulls$", status=500, times=4)
    report = io.StringIO()

    summary = run(fetch_pull_requests, state, None, Progress(report, indent=""))
    lines = report.getvalue().splitlines()

    assert (summary.projects, summary.failed, summary.counts.added) == (1, 1, 1)
    assert lines[0].startswith("docker/cli: failed")
    assert lines[1].startswith("moby/moby: pull requests: 1 added")
    assert [p["number"] for p in client.get("/v1/pull_requests").json()] == [7]


def test_a_low_rate_limit_stops_the_cycle_early(client, auth, run, state, github, clock) -> None:
    add_docker(github, clock)
    moby = github.add_repo("moby", "moby", installation_id=11)
    moby.add_pull(7, "erin", clock.now)
    create(client, auth, DOCKER)
    create(client, auth, MOBY)
    state.github.min_rate_limit = 100
    github.remaining["installation:11"] = 101  # docker/cli's two pages leave 99

    summary = run(fetch_pull_requests, state)

    assert summary.projects == 1
    assert summary.stopped is not None and "rate limit low" in summary.stopped
    assert "moby/moby" in summary.stopped
    assert summary.rate_limit_left == 99
    assert sorted(p["number"] for p in client.get("/v1/pull_requests").json()) == [1, 2, 3]


def test_personal_token_instead_of_the_app(make_settings, github, clock) -> None:
    from starlette.testclient import TestClient

    from bot.app import create_app

    github.personal_token = "ghp_local"
    add_docker(github, clock)
    settings = make_settings(GITHUB_TOKEN="ghp_local", GITHUB_API_URL=BASE_URL)
    with TestClient(create_app(settings)) as client:
        client.app.state.clock = clock
        create(client, {"Authorization": "Bearer test-api-token"}, DOCKER)
        summary = client.portal.call(fetch_pull_requests, client.app.state)
    assert (summary.projects, summary.counts.added) == (1, 3)
    assert {c.auth for c in github.calls} == {"token ghp_local"}
    assert not github.calls_to(r"/installation$|/access_tokens$")


@pytest.fixture
def sync_command(settings, github, clock, monkeypatch, tmp_path) -> Callable[..., int]:
    """`reviewer sync` in this process, with docker/cli on the fake GitHub and as a project."""
    import logging

    from starlette.testclient import TestClient

    from bot.app import create_app
    from bot.cli import main

    add_docker(github, clock)
    with TestClient(create_app(settings)) as client:
        create(client, {"Authorization": "Bearer test-api-token"}, DOCKER)
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    # `main` points the root logger at this test's stderr; give it back afterwards.
    monkeypatch.setattr(logging.getLogger(), "handlers", list(logging.getLogger().handlers))
    for name, value in {
        "DATABASE_URL": settings.database_url,
        "GITHUB_APP_ID": APP_ID,
        "GITHUB_PRIVATE_KEY": settings.github_private_key,
        "GITHUB_API_URL": BASE_URL,
        "SCHEDULER": "on",  # `sync` runs without the scheduler whatever the setting
    }.items():
        monkeypatch.setenv(name, value)
    return lambda *args: main(["sync", *args])


def test_reviewer_sync_command_prints_progress_and_summary(sync_command, capsys) -> None:
    assert sync_command("--project", "Docker/CLI") == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    # Progress per project, then the summary, for each fetcher: a report, no log lines.
    assert not [line for line in lines if line.startswith("{")]
    prs, reviews = lines.index("PullRequestFetcher:"), lines.index("ReviewFetcher:")
    assert prs < reviews
    assert any(
        line.startswith("  docker/cli: pull requests: 3 added") for line in lines[prs:reviews]
    )
    assert "PullRequestFetcher: 1 projects synced, 0 skipped, 0 failed" in lines[prs:reviews]
    assert any(
        line.startswith("  docker/cli: pull requests: 0 added, 0 updated, 0 closed, 3 checked")
        for line in lines[reviews:]
    )
    assert (
        "  pull requests: 0 added, 0 updated, 0 closed, 3 checked for reviews; "
        "2 reviews new or changed" in lines[reviews:]
    )
    assert "  4 GitHub requests (1 not modified, 0 retried), rate limit left: 4996" in lines

    assert sync_command("--project", "nobody/nothing") == 2
    assert "no active project nobody/nothing" in capsys.readouterr().err


class Terminal(io.StringIO):
    """What a person's terminal receives."""

    def isatty(self) -> bool:
        return True


def test_reviewer_sync_in_a_terminal_draws_a_progress_bar(sync_command, monkeypatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    assert sync_command() == 0
    shown = terminal.getvalue()
    assert "\r  [------------------------] 0/1" in shown
    assert "\r  [########################] 1/1" in shown
    # Each bar is wiped before the next line, so the report reads as lines.
    assert "\x1b[2K  docker/cli: pull requests: 3 added" in shown


def test_a_webhook_and_a_poll_of_one_fact_write_the_same_rows(
    client, auth, run, state, github, clock, db
) -> None:
    from bot.store.tables import pull_requests, review_requests, reviews, users
    from tests.webhook_client import deliver

    repo = add_docker(github, clock)
    review = repo.reviews[1][0]
    common = {"repository": repo.json, "installation": {"id": 11}, "sender": github.user("bob")}
    for event, body in (
        ("pull_request", {"action": "opened", "number": 1, "pull_request": repo.pull_detail(1)}),
        (
            "pull_request_review",
            {"action": "submitted", "review": review, "pull_request": repo.pull_detail(1)},
        ),
    ):
        assert deliver(client, event, {**body, **common}).status_code < 300

    async def rows() -> list[list[dict]]:
        return [
            await db.fetch_all(table.select().order_by(table.c.id))
            for table in (pull_requests, reviews, review_requests, users)
        ]

    by_webhook = run(rows)
    run(fetch_reviews_cycle, state, "docker/cli")  # stores PR 1 and its reviews again
    by_poll = run(rows)

    pr_one = [r for r in by_poll[0] if r["number"] == 1]
    assert by_webhook[0] == pr_one
    assert by_webhook[1] == by_poll[1][: len(by_webhook[1])] and len(by_webhook[1]) == 1
    requests_of_one = [r for r in by_poll[2] if r["pull_request_id"] == pr_one[0]["id"]]
    assert by_webhook[2] == requests_of_one
    assert by_webhook[3] == by_poll[3][: len(by_webhook[3])]


def test_reviewer_sync_skips_a_fetcher_another_process_is_running(
    settings, github, clock, capsys
) -> None:
    import asyncio

    from starlette.testclient import TestClient

    from bot.app import create_app
    from bot.cli import sync as sync_command
    from bot.jobs.scheduler import job_lock

    if not settings.is_postgres:
        pytest.skip("advisory locks are PostgreSQL's")
    add_docker(github, clock)
    with TestClient(create_app(settings)) as client:
        create(client, {"Authorization": "Bearer test-api-token"}, DOCKER)

    async def while_a_served_process_runs_the_review_fetcher() -> int:
        async with job_lock(settings, "ReviewFetcher") as held:
            assert held
            return await sync_command(settings, None)

    assert asyncio.run(while_a_served_process_runs_the_review_fetcher()) == 1
    out = capsys.readouterr().out
    assert "PullRequestFetcher: 1 projects synced, 0 skipped, 0 failed" in out
    assert "another process is running ReviewFetcher now; skipped" in out
    assert not github.calls_to(r"/reviews$")


def test_a_pull_requests_reviews_cost_the_same_statements_however_many(client, run, db) -> None:
    """ReviewFetcher stores a pull request's users in one statement and its reviews in one."""
    from bot.github import parse
    from bot.jobs import reviews as review_fetcher
    from tests.factories import add_project, at
    from tests.github_events import OCTOCAT, PullRequest, github_user
    from tests.webhook_client import payload

    project = {"id": run(add_project, db)}

    def review(review_id: int, login: str) -> dict:
        obj = payload("pull_request_review/submitted")["review"]
        obj.update(id=review_id, user=github_user(login, review_id), state="APPROVED")
        obj["submitted_at"] = "2026-01-05T09:02:00Z"
        return obj

    def cost(number: int, logins: list[str]) -> tuple[int, int]:
        pr = parse.pull_request(
            PullRequest(900 + number, number, at(3), reviewers=(OCTOCAT,)).as_object()
        )
        objs = [parse.review(review(1000 * number + i, login)) for i, login in enumerate(logins)]
        before = db.query_count
        changed = run(review_fetcher.store, client.app.state, project, pr, objs)
        return changed, db.query_count - before

    one = cost(1, ["ann"])
    six = cost(2, ["bea", "cid", "dan", "eve", "fay", "gus"])
    assert (one[0], six[0]) == (1, 6)
    assert six[1] == one[1]
    listed = {p["number"]: p["id"] for p in client.get("/v1/pull_requests").json()}
    shown = client.get(f"/v1/pull_requests/{listed[2]}?details=true").json()
    assert shown["approvers"] == ["bea", "cid", "dan", "eve", "fay", "gus"]
    assert shown["idlers"] == ["octocat"]


def test_the_review_fetcher_locks_users_in_the_order_webhooks_do(settings, client, run, db):
    """On PostgreSQL, a webhook holding users B and C locked does not hold up ReviewFetcher
    storing a pull request that names them as they are (known people are read, not
    written); once both were renamed, the poll writes them, so a webhook locking B then C
    while it stores them: one waits for the other, neither deadlocks."""
    import asyncio

    import asyncpg

    from bot.github import parse
    from bot.jobs import reviews as review_fetcher
    from tests.factories import add_project, at
    from tests.github_events import PullRequest, github_user
    from tests.webhook_client import payload

    if not settings.is_postgres:
        pytest.skip("row locks across connections are PostgreSQL's")
    bea, cid, author = github_user("bea", 10), github_user("cid", 20), github_user("xan", 30)
    project = {"id": run(add_project, db)}
    pr = PullRequest(77, 7, at(1), reviewers=(cid,), author=author)
    review = payload("pull_request_review/submitted")["review"]
    review.update(id=501, user=bea, state="APPROVED", submitted_at="2026-01-05T09:02:00Z")
    reviews = [parse.review(review)]
    state = client.app.state
    run(review_fetcher.store, state, project, parse.pull_request(pr.as_object()), reviews)

    lock_user = "UPDATE users SET username = username WHERE github_id = $1"

    async def unhindered() -> int:
        webhook = await asyncpg.connect(settings.database_url)
        try:
            async with webhook.transaction():
                await webhook.execute(lock_user, 10)
                await webhook.execute(lock_user, 20)
                poll = review_fetcher.store(
                    state,
                    project,
                    parse.pull_request(pr.but(updated_at=at(2)).as_object()),
                    reviews,
                )
                return await asyncio.wait_for(poll, 10)
        finally:
            await webhook.close()

    assert run(unhindered) == 0
    bea["login"], cid["login"] = "bea2", "cid2"
    review["user"] = bea
    reviews = [parse.review(review)]
    pr = pr.but(updated_at=at(3), reviewers=(cid,))

    async def race() -> int:
        webhook = await asyncpg.connect(settings.database_url)
        watcher = await asyncpg.connect(settings.database_url)
        try:
            async with webhook.transaction():
                await webhook.execute(lock_user, 10)
                poll = asyncio.create_task(
                    review_fetcher.store(
                        state,
                        project,
                        parse.pull_request(pr.but(updated_at=at(4)).as_object()),
                        reviews,
                    )
                )
                while not await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                ):
                    assert not poll.done(), poll
                    await asyncio.sleep(0.01)
                await webhook.execute(lock_user, 20)
            return await poll
        finally:
            await webhook.close()
            await watcher.close()

    assert run(race) == 0  # stored again, nothing new; above all, no DeadlockDetectedError


def test_a_move_is_read_from_the_301_where_the_project_has_no_github_id() -> None:
    from http import HTTPStatus

    from gidgethub import RedirectionException

    from bot.jobs.moved import moved_repository_id

    def answer(status: int, location: str) -> RedirectionException:
        return RedirectionException(HTTPStatus(status), headers={"location": location})

    moved = answer(301, f"{BASE_URL}/repositories/42/pulls?state=open")
    assert moved_repository_id({"github_id": None}, moved) == 42
    assert moved_repository_id({"github_id": 7}, moved) == 7  # the id we know wins
    assert moved_repository_id({"github_id": 7}, answer(302, moved.headers["location"])) is None
    assert moved_repository_id({"github_id": None}, answer(301, "https://elsewhere/x")) is None
