"""Sign in with GitHub through the App's OAuth client, and what the person may see.

The authorize and token URLs live on GitHub's web host (github.com, or the GitHub
Enterprise Server host derived from GITHUB_API_URL, as the manifest flow does); the
user's installations and their repositories come from GITHUB_API_URL with the user's
own token, so GitHub decides what each person can access. Tokens are never logged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.settings import Settings
from bot.setup.manifest import web_url

TIMEOUT_SECONDS = 15
# A person with more repositories than this through the App is cut off there.
MAX_PAGES = 50
API_HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


class GitHubRefused(Exception):
    """GitHub answered, and said no (a bad code, a revoked token: `status` 401)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class GitHubUnreachable(Exception):
    """GitHub did not answer usefully (network, 5xx, a malformed answer)."""


@dataclass(frozen=True)
class Grant:
    token: str
    expires_in: int | None  # seconds; None when the App's user tokens do not expire


@dataclass(frozen=True)
class Person:
    id: int
    login: str


def authorize_url(settings: Settings, state: str, redirect_uri: str) -> str:
    query = urlencode(
        {"client_id": settings.github_client_id, "redirect_uri": redirect_uri, "state": state}
    )
    return f"{web_url(settings.github_api_url)}/login/oauth/authorize?{query}"


async def exchange_code(settings: Settings, code: str, redirect_uri: str) -> Grant:
    """The user's token for the code GitHub sent back to the callback."""
    url = f"{web_url(settings.github_api_url)}/login/oauth/access_token"
    body = {
        "client_id": settings.github_client_id,
        "client_secret": settings.github_client_secret,
        "code": code,
        "redirect_uri": redirect_uri,
    }
    answer = await _call("POST", url, json=body, headers={"Accept": "application/json"})
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        # GitHub answers 200 with {"error": "bad_verification_code", ...} for a bad code.
        raise GitHubRefused(400, str(answer.get("error") or "no access token in the answer"))
    expires_in = answer.get("expires_in")
    return Grant(token, expires_in if isinstance(expires_in, int) else None)


async def signed_in(settings: Settings, token: str) -> Person:
    user = await _call("GET", f"{settings.github_api_url}/user", token=token)
    if not isinstance(user.get("id"), int) or not isinstance(user.get("login"), str):
        raise GitHubUnreachable("GitHub's /user answer lacks id or login")
    return Person(user["id"], user["login"])


async def accessible_repositories(settings: Settings, token: str) -> list[tuple[int, str]]:
    """(id, full_name) of every repository of the App's installations the person can access."""
    repos: list[tuple[int, str]] = []
    api = settings.github_api_url
    try:
        async for installation in _paged(f"{api}/user/installations", "installations", token):
            async for repo in _paged(
                f"{api}/user/installations/{int(installation['id'])}/repositories",
                "repositories",
                token,
            ):
                repos.append((int(repo["id"]), str(repo["full_name"])))
    except (KeyError, TypeError, ValueError) as exc:
        raise GitHubUnreachable(f"GitHub's answer is malformed ({type(exc).__name__})") from None
    return repos


async def _paged(url: str, key: str, token: str) -> AsyncIterator[dict[str, Any]]:
    """The items of every page, following GitHub's `Link: rel="next"`."""
    next_url: str | None = f"{url}?per_page=100"
    for _ in range(MAX_PAGES):
        if next_url is None:
            return
        response = await _send("GET", next_url, token=token)
        items = _json(response).get(key)
        if not isinstance(items, list):
            raise GitHubUnreachable(f"GitHub's answer lacks {key}")
        for item in items:
            if isinstance(item, dict) and "id" in item:
                yield item
        next_url = response.links.get("next", {}).get("url")


async def _call(method: str, url: str, token: str | None = None, **kwargs: Any) -> dict:
    return _json(await _send(method, url, token=token, **kwargs))


async def _send(method: str, url: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
    headers = {**API_HEADERS, **kwargs.pop("headers", {})}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            response = await client.request(method, url, headers=headers, **kwargs)
    except httpx.HTTPError as exc:
        raise GitHubUnreachable(f"GitHub did not answer: {type(exc).__name__}") from None
    if response.status_code >= 500:
        raise GitHubUnreachable(f"GitHub answered HTTP {response.status_code}")
    if response.status_code >= 400:
        raise GitHubRefused(response.status_code, f"GitHub answered HTTP {response.status_code}")
    return response


def _json(response: httpx.Response) -> dict:
    try:
        value = response.json()
    except ValueError:
        raise GitHubUnreachable("GitHub's answer is not JSON") from None
    if not isinstance(value, dict):
        raise GitHubUnreachable("GitHub's answer is not a JSON object")
    return value
