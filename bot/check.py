"""`reviewer check`: does the configuration work? The database, GitHub and Slack, a line each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.settings import Settings

OK, FAILED, SKIPPED, WARNING = "ok", "failed", "skipped", "warning"
TIMEOUT_SECONDS = 15


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, failed, skipped or warning (a warning does not fail the command)
    why: str

    def line(self) -> str:
        return f"{self.name:<9} {self.status:<8} {self.why}"


def _problem(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def missing_sqlite_file(url: str) -> Check | None:
    """A check for a SQLite file that is not there yet; connecting would create it empty."""
    if not url.startswith("sqlite:///"):
        return None
    path = Path(url[len("sqlite:///") :])
    if path.exists():
        return None
    if not path.parent.is_dir():
        return Check("database", FAILED, f"folder {path.parent} does not exist")
    return Check("database", OK, f"{path} does not exist yet; `reviewer migrate` creates it")


async def check_database(settings: Settings) -> Check:
    from bot.store.database import Database
    from bot.store.migrate import pending_revisions

    url = settings.database_url
    missing = missing_sqlite_file(url)
    if missing:
        return missing
    db = Database(url)
    await db.connect()
    try:
        await db.fetch_val(sa.text("SELECT 1"))
    finally:
        await db.disconnect()
    pending = await asyncio.to_thread(pending_revisions, url)
    schema = (
        f"{len(pending)} migration(s) pending, `reviewer migrate` applies them"
        if pending
        else "schema current"
    )
    return Check("database", OK, f"{db.backend} answers, {schema}")


async def _github_get(settings: Settings, path: str, **auth: str) -> Any:
    import httpx
    from gidgethub.httpx import GitHubAPI

    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        gh = GitHubAPI(client, "reviewer-check", base_url=settings.github_api_url)
        return await gh.getitem(path, **auth)


def _github_refusal(exc: Exception) -> str:
    from gidgethub import BadRequest

    if isinstance(exc, BadRequest):
        message = exc.args[0] if exc.args else ""
        return f"GitHub answered {int(exc.status_code)}: {message}".rstrip(": ")
    return _problem(exc)


async def check_github(settings: Settings) -> Check:
    from gidgethub import GitHubException
    from gidgethub.apps import get_jwt

    if settings.github_app_configured:
        assert settings.github_app_id and settings.github_private_key
        try:
            jwt = get_jwt(app_id=settings.github_app_id, private_key=settings.github_private_key)
        except Exception as exc:
            return Check("github", FAILED, f"GITHUB_PRIVATE_KEY is not a usable RSA key: {exc}")
        try:
            app = await _github_get(settings, "/app", jwt=jwt)
        except GitHubException as exc:
            return Check("github", FAILED, f"App {settings.github_app_id}: {_github_refusal(exc)}")
        installs = app.get("installations_count")
        where = f", {installs} installation(s)" if installs is not None else ""
        return Check("github", OK, f"App {app.get('slug')} (id {app.get('id')}){where}")
    if settings.github_token:
        try:
            user = await _github_get(settings, "/user", oauth_token=settings.github_token)
            return Check("github", OK, f"GITHUB_TOKEN of {user.get('login')}")
        except GitHubException as exc:
            if getattr(exc, "status_code", None) != 403:
                return Check("github", FAILED, f"GITHUB_TOKEN: {_github_refusal(exc)}")
        # An installation or Actions token cannot read /user, but any token reads this.
        try:
            await _github_get(settings, "/rate_limit", oauth_token=settings.github_token)
        except GitHubException as exc:
            return Check("github", FAILED, f"GITHUB_TOKEN: {_github_refusal(exc)}")
        return Check("github", OK, "GITHUB_TOKEN accepted (not a user token)")
    return Check(
        "github", SKIPPED, "neither GITHUB_APP_ID with a private key nor GITHUB_TOKEN is set"
    )


async def check_webhooks(settings: Settings) -> Check:
    if settings.github_webhook_secret:
        return Check("webhooks", OK, "GITHUB_WEBHOOK_SECRET is set")
    if settings.github_app_configured:
        return Check(
            "webhooks", FAILED, "GITHUB_WEBHOOK_SECRET is not set, so deliveries are refused"
        )
    return Check("webhooks", SKIPPED, "no GitHub App is configured")


async def check_slack(settings: Settings) -> Check:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    token, secret = settings.slack_bot_token, settings.slack_signing_secret
    if not token and not secret:
        return Check("slack", SKIPPED, "SLACK_BOT_TOKEN is not set")
    if not token or not secret:
        missing = "SLACK_SIGNING_SECRET" if token else "SLACK_BOT_TOKEN"
        return Check("slack", FAILED, f"{missing} is not set, so Slack stays off")
    client = AsyncWebClient(token=token, base_url=settings.slack_api_url, timeout=TIMEOUT_SECONDS)
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        return Check("slack", FAILED, f"Slack refused the token: {exc.response.get('error')}")
    return Check("slack", OK, f"bot {answer.get('user')} in workspace {answer.get('team')}")


async def check_reads(settings: Settings) -> Check:
    """Who may read pull requests and users (READ_ACCESS): a warning while anyone can."""
    if settings.read_access == "github":
        return Check("reads", OK, "people sign in with GitHub and see their repositories")
    if settings.read_access == "token":
        return Check("reads", OK, "a bearer token from API_TOKENS or READ_TOKENS is required")
    return Check(
        "reads",
        WARNING,
        "READ_ACCESS is public: anyone who reaches the service reads every pull request "
        "and user; set GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET, or READ_ACCESS=token",
    )


CHECKS: tuple[tuple[str, Callable[[Settings], Awaitable[Check]]], ...] = (
    ("database", check_database),
    ("github", check_github),
    ("webhooks", check_webhooks),
    ("slack", check_slack),
    ("reads", check_reads),
)


async def _guarded(name: str, check: Callable[[Settings], Awaitable[Check]], s: Settings) -> Check:
    """A check that raised or hung is a failed check, never a crash of the others."""
    try:
        return await asyncio.wait_for(check(s), TIMEOUT_SECONDS + 5)
    except TimeoutError:
        return Check(name, FAILED, "no answer in time")
    except Exception as exc:
        return Check(name, FAILED, _problem(exc))


async def run_checks(settings: Settings) -> list[Check]:
    """Every check, run at once, in a fixed order; settings were valid to get here."""
    results = await asyncio.gather(*(_guarded(name, fn, settings) for name, fn in CHECKS))
    return [Check("settings", OK, "every setting is well formed"), *results]
