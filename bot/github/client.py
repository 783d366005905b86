"""The process's GitHub client: one HTTP connection pool, one ETag cache, retries, rate limits.

`GitHub` lives on `app.state.github`. It hands out gidgethub `GitHubAPI` objects that
all share its `httpx.AsyncClient` and its conditional-request cache:

- `app_api()` speaks as the App (a JWT), for `/app/...` and `/repos/{o}/{r}/installation`;
- `installation_api(id)` speaks as one installation; its token comes from the shared
  `InstallationTokens` cache at each request, so a token that expires mid-run (even
  in the middle of paging a list) is renewed, and one GitHub refuses is renewed once;
- `token_api()` speaks with `GITHUB_TOKEN`, for runs without an App.

Every request is retried with backoff on 5xx and timeouts, waits out secondary rate
limits (403/429 with `Retry-After`), and records the rate limit GitHub reports.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import cachetools
import httpx
from gidgethub import httpx as gh_httpx

from bot.github.auth import InstallationTokens
from bot.settings import Settings
from bot.store.clock import utcnow

log = logging.getLogger(__name__)

USER_AGENT = "reviewer-bot"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# The conditional-request cache holds each URL's decoded body (a list page, a pull
# request's reviews); it is bounded by the bodies' JSON size, least recently used first.
# 50 repositories x 20 open pull requests take about 21 MB (see tests/bench/bench_sync.py).
ETAG_CACHE_BYTES = 64_000_000


def cached_size(entry: tuple) -> int:
    """The JSON size of a cached answer (etag, last-modified, data, next page)."""
    return len(json.dumps(entry[2], separators=(",", ":")))


class RateLimitLow(Exception):
    """The rate limit left is below what a cycle may spend; the cycle stops early."""

    def __init__(self, remaining: int, reset: datetime | None) -> None:
        when = f", resets at {reset:%H:%M:%S} UTC" if reset else ""
        super().__init__(f"rate limit low: {remaining} requests left{when}")
        self.remaining = remaining
        self.reset = reset


class SecondaryRateLimit(RateLimitLow):
    """GitHub asks for a longer pause than a cycle waits: the cycle stops early."""

    def __init__(self, wait: float) -> None:
        Exception.__init__(self, f"secondary rate limit: GitHub asks for a {wait:.0f} s pause")
        self.remaining = 0
        self.reset = None


@dataclass
class RequestStats:
    """What GitHub calls cost; counters only grow, summaries take differences."""

    requests: int = 0
    not_modified: int = 0
    retries: int = 0
    # The waits GitHub asked for or backoff chose, in seconds, before any scaling.
    waits: list[float] = field(default_factory=list)

    def copy(self) -> RequestStats:
        return RequestStats(self.requests, self.not_modified, self.retries, list(self.waits))


@dataclass
class RateLimit:
    remaining: int
    limit: int
    reset: datetime | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        try:
            remaining = int(headers["x-ratelimit-remaining"])
            limit = int(headers.get("x-ratelimit-limit", remaining))
        except (KeyError, ValueError):
            return None
        reset_raw = headers.get("x-ratelimit-reset")
        reset = datetime.fromtimestamp(int(reset_raw), UTC) if reset_raw else None
        return cls(remaining, limit, reset)


def retry_after(status: int, headers: Mapping[str, str], body: bytes = b"") -> float | None:
    """Seconds a secondary rate limit asks us to wait, or None when it is not one.

    GitHub answers a secondary rate limit with 403 or 429 and `Retry-After`; without
    that header, a 429 (or a 403 whose message says "secondary rate limit") means
    "wait at least a minute". A 403 with no requests left is the primary limit, not
    retried: the cycle stops instead. Any other 403 is a refusal, not a limit.
    """
    if status not in (403, 429):
        return None
    raw = headers.get("retry-after")
    if raw is not None:
        try:
            return max(0.0, float(raw))
        except ValueError:
            return 60.0
    if headers.get("x-ratelimit-remaining") == "0":
        return None
    return 60.0 if status == 429 or b"secondary rate limit" in body.lower() else None


class ReviewerAPI(gh_httpx.GitHubAPI):
    """gidgethub over the shared client, with our auth, retries and rate-limit tracking."""

    def __init__(
        self,
        github: GitHub,
        *,
        token: Callable[[], Awaitable[str]] | None = None,
        on_unauthorized: Callable[[], None] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(
            github.http,
            USER_AGENT,
            cache=github.cache,
            base_url=github.base_url,
            **kwargs,  # type: ignore[arg-type]
        )
        self.github = github
        self._token = token
        self._on_unauthorized = on_unauthorized
        self.rate: RateLimit | None = None

    def check_rate_limit(self) -> None:
        """Raise RateLimitLow when fewer requests are left than a cycle may spend."""
        if self.rate is not None and self.rate.remaining < self.github.min_rate_limit:
            raise RateLimitLow(self.rate.remaining, self.rate.reset)

    async def _wait(self, seconds: float) -> None:
        self.github.stats.waits.append(seconds)
        self.github.stats.retries += 1
        await self.sleep(seconds * self.github.sleep_scale)

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        github = self.github
        request_headers = dict(headers)
        # A failed POST may have been applied; only idempotent requests are sent again
        # (and asking for an installation token, or for a redelivery, which are harmless
        # twice: a redelivered GUID is applied once here).
        idempotent = method in ("GET", "HEAD", "PUT", "DELETE") or url.endswith(
            ("/access_tokens", "/attempts")
        )
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            if self._token is not None:
                request_headers["authorization"] = f"token {await self._token()}"
            try:
                response = await github.http.request(
                    method, url, headers=request_headers, content=body
                )
            except (httpx.TimeoutException, httpx.NetworkError) as exc:
                if attempt >= github.max_attempts or not idempotent:
                    raise
                log.warning(
                    "GitHub did not answer; retrying",
                    extra={"method": method, "url": url, "error": type(exc).__name__},
                )
                await self._wait(github.backoff(attempt))
                continue
            github.stats.requests += 1
            status = response.status_code
            rate = RateLimit.from_headers(response.headers)
            if rate is not None:
                self.rate = rate
            if status == 304:
                github.stats.not_modified += 1
            if status == 401 and self._on_unauthorized is not None and not renewed:
                # The token was revoked or expired early: forget it and ask for another.
                renewed = True
                self._on_unauthorized()
                continue
            wait = retry_after(status, response.headers, response.content)
            if wait is not None:
                if wait > github.retry_after_max or attempt >= github.max_attempts:
                    raise SecondaryRateLimit(wait)
                log.warning(
                    "GitHub secondary rate limit; waiting",
                    extra={"url": url, "status": status, "seconds": wait},
                )
                await self._wait(wait)
                continue
            if status >= 500 and idempotent and attempt < github.max_attempts:
                log.warning("GitHub answered %s; retrying", status, extra={"url": url})
                await self._wait(github.backoff(attempt))
                continue
            return status, response.headers, response.content


class GitHub:
    """Everything the process needs to talk to GitHub; created once, closed at shutdown."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.base_url = settings.github_api_url
        self.http = httpx.AsyncClient(timeout=TIMEOUT)
        self.cache: cachetools.LRUCache = cachetools.LRUCache(
            maxsize=ETAG_CACHE_BYTES, getsizeof=cached_size
        )
        self.stats = RequestStats()
        # Knobs tests turn to make waits instant; the waits are still recorded in stats.
        self.max_attempts = 4
        self.backoff_base = 1.0
        self.backoff_max = 30.0
        self.retry_after_max = 120.0
        self.sleep_scale = 1.0
        # Items per page of a list; GitHub's maximum, so a list costs as few requests as can be.
        self.per_page = 100
        # A cycle stops once an installation has fewer requests left than this.
        self.min_rate_limit = 100
        self.tokens: InstallationTokens | None = None
        if settings.github_app_configured:
            assert settings.github_app_id and settings.github_private_key
            self.tokens = InstallationTokens(
                settings.github_app_id, settings.github_private_key, clock
            )
        self._apis: dict[object, ReviewerAPI] = {}

    @property
    def uses_token(self) -> bool:
        """True when GITHUB_TOKEN replaces App authentication."""
        return self.settings.github_token is not None

    @property
    def configured(self) -> bool:
        return self.uses_token or self.tokens is not None

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))

    def app_api(self) -> ReviewerAPI:
        """Speaks as the App itself (a JWT gidgethub renews before it expires)."""
        if self.tokens is None:
            raise RuntimeError("GITHUB_APP_ID and GITHUB_PRIVATE_KEY are not set")
        api = self._apis.get("app")
        if api is None:
            api = self._apis["app"] = ReviewerAPI(
                self,
                app_id=self.tokens.app_id,
                private_key=self.settings.github_private_key,
            )
        return api

    def installation_api(self, installation_id: int) -> ReviewerAPI:
        """Speaks as one installation of the App."""
        tokens = self.tokens
        if tokens is None:
            raise RuntimeError("GITHUB_APP_ID and GITHUB_PRIVATE_KEY are not set")
        api = self._apis.get(installation_id)
        if api is None:
            app_api = self.app_api()

            async def token() -> str:
                return await tokens.get(app_api, installation_id)

            api = self._apis[installation_id] = ReviewerAPI(
                self, token=token, on_unauthorized=lambda: tokens.forget(installation_id)
            )
        return api

    def token_api(self) -> ReviewerAPI:
        """Speaks with GITHUB_TOKEN."""
        api = self._apis.get("token")
        if api is None:
            api = self._apis["token"] = ReviewerAPI(self, oauth_token=self.settings.github_token)
        return api

    def rate_limit_left(self) -> int | None:
        """The least any credential has left, as GitHub last reported it."""
        known = [api.rate.remaining for api in self._apis.values() if api.rate is not None]
        return min(known) if known else None

    async def aclose(self) -> None:
        await self.http.aclose()
