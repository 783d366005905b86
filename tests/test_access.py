"""Who may read: READ_ACCESS, bearer tokens, and sign in with GitHub against the fake GitHub."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import respx
from starlette.testclient import TestClient

from bot.api.sessions import SESSION_COOKIE, STATE_COOKIE, Sealer
from bot.app import create_app
from bot.settings import Settings
from tests.conftest import API_TOKEN
from tests.factories import (
    add_project,
    add_pull_request,
    add_release,
    add_request,
    add_review,
    add_user,
    at,
)
from tests.fake_github import BASE_URL, CLIENT_ID, CLIENT_SECRET, Clock, FakeGitHub, Fault
from tests.test_pull_requests_api import follow_next

READ_TOKEN = "read-only-token"
GITHUB_MODE = {
    "GITHUB_CLIENT_ID": CLIENT_ID,
    "GITHUB_CLIENT_SECRET": CLIENT_SECRET,
    "GITHUB_API_URL": BASE_URL,
    "READ_TOKENS": READ_TOKEN,
}


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(**GITHUB_MODE)


@pytest.fixture
def clock(client: TestClient) -> Clock:
    clock = Clock()
    client.app.state.clock = clock  # type: ignore[attr-defined]
    return clock


@pytest.fixture
def github(clock: Clock) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(public_key=None, clock=clock)
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        yield fake


def sign_in(client: TestClient, github: FakeGitHub, login: str, next_path: str = "/") -> str:
    """Through /login, GitHub's authorize page (the fake's) and /oauth/callback; the cookie."""
    client.cookies.clear()
    start = client.get("/login", params={"next": next_path}, follow_redirects=False)
    assert start.status_code == 302, start.text
    asked = parse_qs(urlsplit(start.headers["location"]).query)
    code = github.authorize(login, asked["redirect_uri"][0])
    back = client.get(
        "/oauth/callback",
        params={"code": code, "state": asked["state"][0]},
        follow_redirects=False,
    )
    assert back.status_code == 302, back.text
    session = back.cookies.get(SESSION_COOKIE)
    assert session
    client.cookies.clear()
    return session


def as_person(session: str) -> dict[str, str]:
    return {"Cookie": f"{SESSION_COOKIE}={session}"}


def world(run: Any, db: Any, github: FakeGitHub) -> dict[str, int]:
    """Two repositories on GitHub and their projects here, plus one added by hand.

    ann may access docker/cli and acme/tools; moby/moby is not hers.
    """
    docker = github.add_repo("docker", "cli", installation_id=11)
    github.add_repo("moby", "moby", installation_id=12)
    github.add_repo("acme", "tools", installation_id=13)
    github.grant("ann", "docker/cli", "acme/tools")

    async def fill() -> dict[str, int]:
        ids = {
            "docker": await add_project(db, "docker", "cli", github_id=docker.id),
            "moby": await add_project(db, "moby", "moby", github_id=777),
            # Added by hand before its GitHub id was known: matched by name.
            "tools": await add_project(db, "Acme", "Tools"),
        }
        for login in ("alice", "bob", "carol", "mallory", "eve"):
            ids[login] = await add_user(db, login)
        ids["pr_docker"] = await add_pull_request(db, ids["docker"], ids["alice"], 1)
        ids["pr_moby"] = await add_pull_request(db, ids["moby"], ids["mallory"], 2)
        await add_review(db, ids["pr_docker"], ids["bob"], "APPROVED", at(5))
        await add_request(db, ids["pr_docker"], ids["carol"], at(1))
        await add_review(db, ids["pr_moby"], ids["bob"], "COMMENTED", at(5))
        await add_request(db, ids["pr_moby"], ids["eve"], at(1))
        ids["release_docker"] = await add_release(db, "docker/cli", "1")
        ids["release_moby"] = await add_release(db, "moby/moby", "2")
        ids["release_azure"] = await add_release(db, "AzureTeam", "3")
        return ids

    return run(fill)


def listed(client: TestClient, path: str, headers: dict[str, str]) -> list[Any]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_person_sees_only_the_repositories_github_says_they_can_access(
    client: TestClient, run, db, github: FakeGitHub
) -> None:
    ids = world(run, db, github)
    github.max_per_page = 1  # installations and repositories come a page at a time
    ann = as_person(sign_in(client, github, "ann"))

    projects = listed(client, "/v1/projects", ann)
    assert sorted(p["id"] for p in projects) == sorted([ids["docker"], ids["tools"]])
    assert client.get("/v1/projects", headers=ann).headers["x-total-count"] == "2"
    assert [p["id"] for p in listed(client, "/v1/pull_requests?state=all", ann)] == [
        ids["pr_docker"]
    ]
    # Users who appear on her repositories' pull requests, no one else.
    users = {u["username"] for u in listed(client, "/v1/users", ann)}
    assert users == {"alice", "bob", "carol"}
    bob = client.get(f"/v1/users/{ids['bob']}?details=true", headers=ann).json()
    assert [p["id"] for p in bob["approved_pull_requests"]] == [ids["pr_docker"]]
    assert bob["commented_pull_requests"] == []  # that one is on moby/moby
    releases = {r["TeamProject"] for r in listed(client, "/v1/releases", ann)}
    assert releases == {"docker/cli", "AzureTeam"}
    # An item she may not see does not exist, for her.
    for path in (
        f"/v1/projects/{ids['moby']}",
        f"/v1/pull_requests/{ids['pr_moby']}",
        f"/v1/users/{ids['mallory']}",
        f"/v1/users/{ids['eve']}?details=true",
        f"/v1/releases/{ids['release_moby']}",
    ):
        response = client.get(path, headers=ann)
        assert response.status_code == 404, path
        assert "detail" in response.json()
    assert client.get(f"/v1/pull_requests/{ids['pr_docker']}", headers=ann).status_code == 200
    # Machines with a token still see everything.
    token = {"Authorization": f"Bearer {READ_TOKEN}"}
    assert len(listed(client, "/v1/projects", token)) == 3
    assert len(listed(client, "/v1/users", token)) == 5
    # Totals are kept per reader (and data version): hers and the token's differ.
    assert client.get("/v1/users", headers=ann).headers["x-total-count"] == "3"
    before = db.query_count
    assert client.get("/v1/users", headers=token).headers["x-total-count"] == "5"
    assert client.get("/v1/users", headers=ann).headers["x-total-count"] == "3"
    assert db.query_count - before == 1 + 1  # the page alone: totals kept
    # Her pages after a cursor hold her users only.
    answers = follow_next(client, "/v1/users?per_page=1", ann)
    assert [a.json()[0]["username"] for a in answers] == ["alice", "bob", "carol"]
    # GitHub's pages were followed (max_per_page 1, two installations).
    assert [c.query.get("page", "1") for c in github.calls_to(r"^/user/installations$")] == [
        "1",
        "2",
    ]


def test_visible_repositories_are_asked_of_github_once_per_while(
    client: TestClient, run, db, github: FakeGitHub
) -> None:
    world(run, db, github)
    ann = as_person(sign_in(client, github, "ann"))
    for _ in range(5):
        listed(client, "/v1/projects", ann)
        listed(client, "/v1/pull_requests", ann)
    assert len(github.calls_to(r"^/user/installations$")) == 1
    # Signing in again asks afresh: she may just have been given access.
    github.grant("ann", "moby/moby")
    ann = as_person(sign_in(client, github, "ann"))
    assert len(listed(client, "/v1/projects", ann)) == 3
    assert len(github.calls_to(r"^/user/installations$")) == 2


def test_without_a_session_reads_are_401_and_the_dashboard_sends_you_to_github(
    client: TestClient, github: FakeGitHub
) -> None:
    for path in ("/v1/projects", "/v1/users/1", "/v1/pull_requests", "/v1/releases"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json()["detail"].startswith("sign in with GitHub")
        assert response.headers["www-authenticate"] == "Bearer"
    page = client.get("/?project=3", follow_redirects=False)
    assert page.status_code == 302
    target = urlsplit(page.headers["location"])
    assert (target.scheme, target.netloc, target.path) == (
        "https",
        "github.test",
        "/login/oauth/authorize",
    )
    asked = parse_qs(target.query)
    assert asked["client_id"] == [CLIENT_ID]
    assert asked["redirect_uri"] == ["http://reviewer.test/oauth/callback"]
    assert len(asked["state"][0]) >= 40
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{STATE_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    # Back from GitHub, the person lands where they were going.
    code = github.authorize("ann", asked["redirect_uri"][0])
    back = client.get(
        "/oauth/callback", params={"code": code, "state": asked["state"][0]}, follow_redirects=False
    )
    assert (back.status_code, back.headers["location"]) == (302, "/?project=3")
    # Other routes are not guarded: health, docs, webhooks keep their own rules.
    client.cookies.clear()
    assert client.get("/healthz").status_code == 200
    assert client.get("/docs.json").status_code == 200


def test_a_bearer_token_is_always_accepted_and_a_wrong_one_is_403(client: TestClient) -> None:
    for token in (API_TOKEN, READ_TOKEN):
        response = client.get("/v1/projects", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    wrong = client.get("/v1/projects", headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()["detail"]) == (403, "the token is not valid")
    # A read token does not write.
    created = client.post(
        "/v1/projects",
        json={"name": "x", "repo_owner": "x", "repo_name": "x"},
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
    )
    assert created.status_code == 403


def test_a_tampered_or_foreign_session_cookie_is_refused(
    client: TestClient, run, db, github: FakeGitHub, clock: Clock
) -> None:
    world(run, db, github)
    session = sign_in(client, github, "ann")
    assert client.get("/v1/projects", headers=as_person(session)).status_code == 200
    flipped = session[:-6] + ("A" if session[-6] != "A" else "B") + session[-5:]
    forged = Sealer("some other secret").seal(
        {"id": 1, "login": "ann", "token": "ghu_x", "exp": 2**40}, clock().timestamp()
    )
    for cookie in (flipped, forged, "garbage", ""):
        response = client.get("/v1/projects", headers=as_person(cookie))
        assert response.status_code == 401, cookie
    # The dashboard sends a bad cookie's holder to sign in again, and drops the cookie.
    page = client.get("/", headers=as_person(flipped), follow_redirects=False)
    assert page.status_code == 302
    assert f'{SESSION_COOKIE}=""' in page.headers["set-cookie"] or any(
        h.startswith(f"{SESSION_COOKIE}=") and "Max-Age=0" in h
        for h in page.headers.get_list("set-cookie")
    )


def test_a_callback_with_another_state_or_a_used_code_signs_nobody_in(
    client: TestClient, github: FakeGitHub
) -> None:
    start = client.get("/login", follow_redirects=False)
    asked = parse_qs(urlsplit(start.headers["location"]).query)
    code = github.authorize("ann", asked["redirect_uri"][0])
    wrong = client.get(
        "/oauth/callback", params={"code": code, "state": "x" * 43}, follow_redirects=False
    )
    assert wrong.status_code == 403
    assert "state does not match" in wrong.json()["detail"]
    assert SESSION_COOKIE not in wrong.cookies
    # Without the state cookie (another browser), the right state is refused too.
    state = asked["state"][0]
    client.cookies.clear()
    elsewhere = client.get("/oauth/callback", params={"code": code, "state": state})
    assert elsewhere.status_code == 403
    assert not github.calls_to("access_token")  # GitHub was not even asked
    # A code used once (or made up) is refused by GitHub, and so here.
    start = client.get("/login", follow_redirects=False)
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    replay = client.get("/oauth/callback", params={"code": "made-up", "state": state})
    assert replay.status_code == 403
    assert "bad_verification_code" in replay.json()["detail"]
    missing = client.get("/oauth/callback", params={"state": state})
    assert missing.status_code == 400
    declined = client.get("/oauth/callback", params={"error": "access_denied", "state": state})
    assert declined.status_code == 403


def test_a_session_ends_with_its_token_and_when_github_revokes_it(
    client: TestClient, run, db, github: FakeGitHub, clock: Clock
) -> None:
    world(run, db, github)
    github.user_token_lifetime = 3600
    ann = as_person(sign_in(client, github, "ann"))
    assert client.get("/v1/projects", headers=ann).status_code == 200
    clock.advance(minutes=61)
    assert client.get("/v1/projects", headers=ann).status_code == 401
    clock.advance(minutes=-61)
    # Revoked on GitHub: known at the next question to GitHub (after the cache's while).
    github.user_tokens.clear()
    client.app.state.repositories._cache.clear()  # type: ignore[attr-defined]
    response = client.get("/v1/projects", headers=ann)
    assert response.status_code == 401


def test_logout_ends_the_session_in_this_browser(client: TestClient, run, db, github) -> None:
    world(run, db, github)
    session = sign_in(client, github, "ann")
    out = client.post("/logout", headers=as_person(session))
    assert out.status_code == 200
    assert any(
        h.startswith(f"{SESSION_COOKIE}=") and "Max-Age=0" in h
        for h in out.headers.get_list("set-cookie")
    )


def test_sign_in_returns_only_to_this_service(client: TestClient, github: FakeGitHub) -> None:
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example", "/ok?x=1"):
        start = client.get("/login", params={"next": target}, follow_redirects=False)
        asked = parse_qs(urlsplit(start.headers["location"]).query)
        code = github.authorize("ann", asked["redirect_uri"][0])
        back = client.get(
            "/oauth/callback",
            params={"code": code, "state": asked["state"][0]},
            follow_redirects=False,
        )
        assert back.headers["location"] == ("/ok?x=1" if target == "/ok?x=1" else "/")


def test_session_cookies_are_secure_behind_https(
    make_settings: Callable[..., Settings], github: FakeGitHub
) -> None:
    settings = make_settings(**GITHUB_MODE, PUBLIC_URL="https://reviewer.example")
    with TestClient(create_app(settings), base_url="https://reviewer.example") as client:
        start = client.get("/login", follow_redirects=False)
        assert "Secure" in start.headers["set-cookie"]
        asked = parse_qs(urlsplit(start.headers["location"]).query)
        assert asked["redirect_uri"] == ["https://reviewer.example/oauth/callback"]
        code = github.authorize("ann", asked["redirect_uri"][0])
        back = client.get(
            "/oauth/callback",
            params={"code": code, "state": asked["state"][0]},
            follow_redirects=False,
        )
        session = next(
            h for h in back.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
        )
        assert "Secure" in session and "HttpOnly" in session and "SameSite=lax" in session


def test_tokens_are_never_logged(
    client: TestClient, run, db, github: FakeGitHub, caplog: pytest.LogCaptureFixture
) -> None:
    world(run, db, github)
    with caplog.at_level(logging.DEBUG):
        ann = as_person(sign_in(client, github, "ann"))
        client.get("/v1/projects", headers=ann)
        client.get("/v1/projects", headers={"Authorization": f"Bearer {READ_TOKEN}"})
    assert github.user_tokens  # a token was handed out
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "signed in with GitHub" in logged
    for secret in (*github.user_tokens, READ_TOKEN, CLIENT_SECRET, ann["Cookie"].split("=", 1)[1]):
        assert secret not in logged


def test_etags_differ_between_people_who_see_differently(
    client: TestClient, run, db, github: FakeGitHub
) -> None:
    world(run, db, github)
    github.grant("bob", "moby/moby")
    ann = as_person(sign_in(client, github, "ann"))
    bob = as_person(sign_in(client, github, "bob"))
    ann_tag = client.get("/v1/pull_requests", headers=ann).headers["etag"]
    bob_answer = client.get("/v1/pull_requests", headers={**bob, "If-None-Match": ann_tag})
    assert bob_answer.status_code == 200
    assert bob_answer.headers["etag"] != ann_tag
    again = client.get("/v1/pull_requests", headers={**ann, "If-None-Match": ann_tag})
    assert again.status_code == 304


def test_token_mode_wants_a_token_and_public_mode_nothing(
    make_settings: Callable[..., Settings],
) -> None:
    token_mode = make_settings(READ_ACCESS="token", READ_TOKENS=READ_TOKEN)
    with TestClient(create_app(token_mode)) as client:
        assert client.get("/v1/projects").status_code == 401
        # No OAuth client: nowhere to send a person, so the dashboard is 401 too.
        assert client.get("/", follow_redirects=False).status_code == 401
        assert client.get("/login").status_code == 404
        ok = client.get("/v1/projects", headers={"Authorization": f"Bearer {READ_TOKEN}"})
        assert ok.status_code == 200
    with TestClient(create_app(make_settings())) as client:
        assert client.app.state.settings.read_access == "public"  # type: ignore[attr-defined]
        assert client.get("/v1/projects").status_code == 200
        assert client.get("/v1/projects", headers={"Authorization": "Bearer x"}).status_code == 200


def test_github_failing_is_a_502_and_keeps_the_session(
    client: TestClient, run, db, github: FakeGitHub
) -> None:
    world(run, db, github)
    ann = as_person(sign_in(client, github, "ann"))
    for status in (502, 403):  # GitHub down, or a rate limit: not a reason to sign in again
        github.faults.append(Fault("GET", re.compile(r"^/user/installations$"), status))
        response = client.get("/v1/projects", headers=ann)
        assert response.status_code == 502
        assert response.json()["detail"].startswith("cannot tell which repositories you may see")
        assert "set-cookie" not in response.headers
    assert client.get("/v1/projects", headers=ann).status_code == 200


def test_a_person_s_reads_run_as_many_statements_as_a_token_s(
    client: TestClient, run, db, github: FakeGitHub
) -> None:
    ids = world(run, db, github)
    ann = as_person(sign_in(client, github, "ann"))
    token = {"Authorization": f"Bearer {READ_TOKEN}"}
    for url in ("/v1/users", f"/v1/users/{ids['bob']}?details=true", "/v1/releases"):
        counts = []
        for who in (token, ann):
            client.get(url, headers=who)  # GitHub asked once, before counting
            before = db.query_count
            tag = client.get(url, headers=who).headers["etag"]
            counts.append(db.query_count - before)
            before = db.query_count
            assert client.get(url, headers={**who, "If-None-Match": tag}).status_code == 304
            counts.append(db.query_count - before)
        # A 304 runs no statement of its own (the data version is counted apart).
        assert counts[0] == counts[2] and counts[1] == counts[3] == 0, (url, counts)


def test_the_queue_and_the_stats_show_a_person_their_repositories_only(
    client: TestClient, run, db, github: FakeGitHub
) -> None:
    ids = world(run, db, github)
    ann = as_person(sign_in(client, github, "ann"))
    token = {"Authorization": f"Bearer {READ_TOKEN}"}
    assert [p["id"] for p in listed(client, "/v1/queue", ann)] == [ids["pr_docker"]]
    assert len(listed(client, "/v1/queue", token)) == 2
    stats = client.get("/v1/stats?days=365", headers=ann).json()
    assert {r["login"] for r in stats["reviewers"]} == {"carol"}
    everyone = client.get("/v1/stats?days=365", headers=token).json()
    assert {r["login"] for r in everyone["reviewers"]} == {"carol", "eve"}
