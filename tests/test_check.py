"""`reviewer check`: respx stands in for GitHub, a tiny Starlette app on loopback for Slack."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.cli import cmd_check
from bot.settings import Settings
from tests.loopback import free_port, serving
from tests.processes import run_reviewer

GOOD_SLACK_TOKEN = "xoxb-good-token"


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    """The key GitHub knows for App 42."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def github(app_key: rsa.RSAPrivateKey) -> Iterator[respx.MockRouter]:
    """GitHub's /app, answering only a JWT that App 42's key signed."""

    def app_endpoint(request: httpx.Request) -> httpx.Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            claims = jwt.decode(token, app_key.public_key(), algorithms=["RS256"])
        except jwt.PyJWTError:
            claims = {}
        if scheme.lower() != "bearer" or claims.get("iss") != "42":
            return httpx.Response(401, json={"message": "A JSON web token could not be decoded"})
        return httpx.Response(
            200, json={"id": 42, "slug": "reviewer-acme", "installations_count": 3}
        )

    with respx.mock(base_url="https://api.github.com") as router:
        router.get("/app").mock(side_effect=app_endpoint)
        yield router


async def auth_test(request: Request) -> JSONResponse:
    if request.headers.get("authorization") != f"Bearer {GOOD_SLACK_TOKEN}":
        return JSONResponse({"ok": False, "error": "invalid_auth"})
    return JSONResponse({"ok": True, "user": "reviewer", "team": "Acme", "user_id": "U1"})


@pytest.fixture(scope="module")
def slack_api_url() -> Iterator[str]:
    """Slack's Web API, as far as `auth.test` goes."""
    app = Starlette(routes=[Route("/api/auth.test", auth_test, methods=["POST"])])
    with serving(app) as base:
        yield f"{base}/api/"


def check(settings: Settings, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str]]:
    """Run `reviewer check`; return its exit code and each check's line by name."""
    code = cmd_check(argparse.Namespace(), settings)
    lines = capsys.readouterr().out.splitlines()
    return code, {line.split()[0]: line for line in lines}


def status(line: str) -> str:
    return line.split()[1]


def test_everything_answers(
    make_settings: Callable[..., Settings], github, slack_api_url, app_key, capsys
) -> None:
    settings = make_settings(
        GITHUB_APP_ID="42",
        GITHUB_PRIVATE_KEY=_pem(app_key).replace("\n", "\\n"),
        SLACK_BOT_TOKEN=GOOD_SLACK_TOKEN,
        SLACK_SIGNING_SECRET="signing",
        SLACK_API_URL=slack_api_url,
        READ_ACCESS="token",
    )
    code, lines = check(settings, capsys)
    assert list(lines) == ["settings", "database", "github", "webhooks", "slack", "reads"]
    assert all(status(line) == "ok" for line in lines.values()), lines
    assert code == 0
    assert "schema current" in lines["database"]
    assert lines["github"].endswith("App reviewer-acme (id 42), 3 installation(s)")
    assert lines["slack"].endswith("bot reviewer in workspace Acme")
    assert github.calls.call_count == 1


def test_wrong_credentials_fail_with_the_reason(
    make_settings: Callable[..., Settings], github, slack_api_url, other_key, capsys
) -> None:
    settings = make_settings(
        GITHUB_APP_ID="42",
        GITHUB_PRIVATE_KEY=_pem(other_key),
        SLACK_BOT_TOKEN="xoxb-revoked",
        SLACK_SIGNING_SECRET="signing",
        SLACK_API_URL=slack_api_url,
    )
    code, lines = check(settings, capsys)
    assert code == 1
    assert status(lines["github"]) == "failed"
    assert "GitHub answered 401: A JSON web token could not be decoded" in lines["github"]
    assert status(lines["slack"]) == "failed"
    assert lines["slack"].endswith("Slack refused the token: invalid_auth")
    assert status(lines["database"]) == "ok"


def test_unconfigured_parts_are_skipped(make_settings: Callable[..., Settings], capsys) -> None:
    code, lines = check(make_settings(GITHUB_WEBHOOK_SECRET=None), capsys)
    assert code == 0
    assert status(lines["github"]) == "skipped"
    assert status(lines["webhooks"]) == "skipped"
    assert status(lines["slack"]) == "skipped"
    assert status(lines["database"]) == "ok"


def test_half_configured_parts_fail(make_settings, app_key, github, capsys) -> None:
    settings = make_settings(
        GITHUB_APP_ID="42",
        GITHUB_PRIVATE_KEY=_pem(app_key),
        GITHUB_WEBHOOK_SECRET=None,
        SLACK_BOT_TOKEN=GOOD_SLACK_TOKEN,
    )
    code, lines = check(settings, capsys)
    assert code == 1
    assert status(lines["github"]) == "ok"
    assert lines["webhooks"].endswith("GITHUB_WEBHOOK_SECRET is not set, so deliveries are refused")
    assert lines["slack"].endswith("SLACK_SIGNING_SECRET is not set, so Slack stays off")


@respx.mock(base_url="https://ghe.example.com/api/v3")
def test_a_token_instead_of_an_app(respx_mock, make_settings, capsys) -> None:
    def user(request: httpx.Request) -> httpx.Response:
        token = request.headers["authorization"].split()[-1]
        if token == "ghp_user":
            return httpx.Response(200, json={"login": "octocat"})
        if token == "ghs_install":
            return httpx.Response(403, json={"message": "Resource not accessible by integration"})
        return httpx.Response(401, json={"message": "Bad credentials"})

    respx_mock.get("/user").mock(side_effect=user)
    rate = respx_mock.get("/rate_limit").mock(
        return_value=httpx.Response(200, json={"resources": {}})
    )
    base = {"GITHUB_API_URL": "https://ghe.example.com/api/v3"}

    code, lines = check(make_settings(GITHUB_TOKEN="ghp_user", **base), capsys)
    assert (code, lines["github"].split(None, 2)[2]) == (0, "GITHUB_TOKEN of octocat")
    code, lines = check(make_settings(GITHUB_TOKEN="ghs_install", **base), capsys)
    assert code == 0
    assert lines["github"].endswith("GITHUB_TOKEN accepted (not a user token)")
    assert rate.call_count == 1
    code, lines = check(make_settings(GITHUB_TOKEN="ghp_revoked", **base), capsys)
    assert code == 1
    assert lines["github"].endswith("GITHUB_TOKEN: GitHub answered 401: Bad credentials")


def test_unreachable_database_and_slack_fail(make_settings, capsys) -> None:
    settings = make_settings(
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere",
        SLACK_BOT_TOKEN=GOOD_SLACK_TOKEN,
        SLACK_SIGNING_SECRET="signing",
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",
    )
    code, lines = check(settings, capsys)
    assert code == 1
    assert status(lines["database"]) == "failed"
    assert status(lines["slack"]) == "failed"
    assert status(lines["settings"]) == "ok"


def test_a_new_sqlite_database_is_not_created_by_check(make_settings, tmp_path: Path, capsys):
    path = tmp_path / "fresh.db"
    code, lines = check(make_settings(DATABASE_URL=f"sqlite:///{path}"), capsys)
    assert code == 0
    assert "does not exist yet; `reviewer migrate` creates it" in lines["database"]
    assert not path.exists()
    path.touch()  # an empty database: every migration is pending
    code, lines = check(make_settings(DATABASE_URL=f"sqlite:///{path}"), capsys)
    assert code == 0
    assert "migration(s) pending, `reviewer migrate` applies them" in lines["database"]
    code, lines = check(make_settings(DATABASE_URL=f"sqlite:///{tmp_path}/no/such.db"), capsys)
    assert code == 1
    assert "does not exist" in lines["database"]


def test_check_as_a_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/r.db"
    done = run_reviewer("check", cwd=tmp_path, DATABASE_URL=url, PORT="eighty")
    assert done.returncode == 1
    assert done.stdout == "settings  failed   PORT: expected a whole number, got 'eighty'\n"
    assert done.stderr == ""
    done = run_reviewer("check", cwd=tmp_path, DATABASE_URL=url)
    assert done.returncode == 0, done.stdout
    assert [line.split()[:2] for line in done.stdout.splitlines()] == [
        ["settings", "ok"],
        ["database", "ok"],
        ["github", "skipped"],
        ["webhooks", "skipped"],
        ["slack", "skipped"],
        ["reads", "warning"],
    ]


def test_public_reads_are_a_warning_that_does_not_fail(make_settings, capsys) -> None:
    code, lines = check(make_settings(), capsys)
    assert status(lines["reads"]) == "warning"
    assert "READ_ACCESS is public" in lines["reads"]
    assert code == 0
    code, lines = check(
        make_settings(GITHUB_CLIENT_ID="Iv1.abc", GITHUB_CLIENT_SECRET="client-secret"), capsys
    )
    assert status(lines["reads"]) == "ok"
    assert "sign in with GitHub" in lines["reads"]
