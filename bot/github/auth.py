"""Installation access tokens of the GitHub App, cached until shortly before they expire."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import cachetools
from gidgethub import BadRequest, apps
from gidgethub.abc import GitHubAPI

# A token is renewed this long before GitHub says it expires, so a request that
# starts with it never reaches GitHub after its end.
REFRESH_MARGIN = timedelta(minutes=5)


class InstallationGone(Exception):
    """GitHub knows no such installation any more: the App was uninstalled."""

    def __init__(self, installation_id: int) -> None:
        super().__init__(f"installation {installation_id} no longer exists")
        self.installation_id = installation_id


@dataclass(frozen=True)
class InstallationToken:
    token: str
    expires_at: datetime


def parse_github_time(value: str) -> datetime:
    """GitHub's `2016-07-11T22:14:10Z` as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class InstallationTokens:
    """One cache of installation tokens for the whole process, shared by every job.

    `clock` is the app's source of "now" (`app.state.clock`), read at each lookup so
    tests can move time and see a token renewed.
    """

    def __init__(
        self,
        app_id: str,
        private_key: str,
        clock: Callable[[], datetime],
        refresh_margin: timedelta = REFRESH_MARGIN,
    ) -> None:
        self.app_id = app_id
        self._private_key = private_key
        self.clock = clock
        self.refresh_margin = refresh_margin
        self._cache: cachetools.TLRUCache[int, InstallationToken] = cachetools.TLRUCache(
            maxsize=1024, ttu=self._expires, timer=self._now
        )
        self._locks: dict[int, asyncio.Lock] = {}
        self.issued = 0  # tokens obtained from GitHub, for the summary and the tests

    def _now(self) -> float:
        return self.clock().timestamp()

    def _expires(self, _key: int, value: InstallationToken, _now: float) -> float:
        return (value.expires_at - self.refresh_margin).timestamp()

    def jwt(self) -> str:
        """A fresh App JWT (valid for minutes) for the App's own endpoints."""
        return apps.get_jwt(app_id=self.app_id, private_key=self._private_key)

    async def get(self, app_api: GitHubAPI, installation_id: int) -> str:
        """A valid token for the installation, from the cache or new from GitHub."""
        cached = self._cache.get(installation_id)
        if cached is not None:
            return cached.token
        lock = self._locks.setdefault(installation_id, asyncio.Lock())
        async with lock:  # one request for a new token, however many jobs want it
            cached = self._cache.get(installation_id)
            if cached is not None:
                return cached.token
            try:
                answer = await apps.get_installation_access_token(
                    app_api,
                    installation_id=str(installation_id),
                    app_id=self.app_id,
                    private_key=self._private_key,
                )
            except BadRequest as exc:
                if exc.status_code == 404:
                    raise InstallationGone(installation_id) from None
                raise
            token = InstallationToken(answer["token"], parse_github_time(answer["expires_at"]))
            self._cache[installation_id] = token
            self.issued += 1
            return token.token

    def forget(self, installation_id: int) -> None:
        """Drop a token GitHub refused, so the next request asks for a new one."""
        self._cache.pop(installation_id, None)
