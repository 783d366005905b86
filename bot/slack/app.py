"""The Slack side of the service: a Bolt app and its Web API client, or None when Slack is off.

The component `slack` puts on `app.state`:

- `slack_app`: a `slack_bolt.async_app.AsyncApp` (bot token + signing secret), or None;
- `slack`: its `AsyncWebClient`, pointed at `SLACK_API_URL`, with retries for rate
  limits (429 + Retry-After) and connection errors, or None;
- `slack_zones`: people's time zones from their Slack profiles, cached, or None.

Features that answer Slack (buttons, commands, events) register their listeners through
a `register_listeners(bolt_app, state)` function in a module named in `LISTENERS` below.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.datastructures import State

from bot.reminders.zones import SlackZones
from bot.settings import Settings

log = logging.getLogger(__name__)

# Called once per start with the Bolt app and `app.state` (settings, db, clock, slack).
Registrar = Callable[[AsyncApp, State], None]

# Seconds one Web API call may take; retries come on top.
TIMEOUT = 15
RATE_LIMIT_RETRIES = 3
CONNECTION_RETRIES = 2


def retry_handlers() -> list[AsyncRetryHandler]:
    """slack_sdk's own handlers: wait out a 429's Retry-After, retry a dropped connection."""
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        AsyncConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
    ]


def web_logger() -> logging.Logger:
    """The Web API client's logger, at LOG_LEVEL but never below INFO.

    slack_sdk logs each request's body and each answer whenever its logger's own level
    is DEBUG or unset (it does not ask the effective level), so LOG_LEVEL=DEBUG would
    write out every DM, approval links and all.
    """
    logger = logging.getLogger("bot.slack.web")
    logger.setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))
    return logger


def build_client(
    settings: Settings, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """A Web API client with the bot token, pointed at SLACK_API_URL."""
    base_url = settings.slack_api_url
    if not base_url.endswith("/"):
        base_url += "/"  # slack_sdk appends the method name as is
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=base_url,
        timeout=TIMEOUT,
        session=session,
        retry_handlers=retry_handlers(),
        logger=web_logger(),
    )


async def _log_listener_error(error: Exception, body: dict[str, Any]) -> None:
    log.error(
        "a Slack listener failed",
        extra={"error": repr(error), "slack_type": body.get("type")},
        exc_info=error,
    )


def build_bolt_app(settings: Settings, client: AsyncWebClient) -> AsyncApp:
    """The Bolt app; it makes no network call until a request needs one.

    Single-workspace authorization runs `auth.test` lazily, on the first request that
    needs it, so the service starts without reaching Slack.
    """
    assert settings.slack_signing_secret is not None
    bolt = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret,
        logger=logging.getLogger("bot.slack.bolt"),
    )
    bolt.error(_log_listener_error)
    return bolt


# Modules with a `register_listeners(bolt_app, state)`, e.g. "bot.releases.slack".
# Named, not imported, so those modules may import this one without a cycle.
LISTENERS: tuple[str, ...] = (
    "bot.slack.release_actions",
    "bot.reminders.snooze",
    "bot.reminders.home",
)


def register_all(bolt: AsyncApp, state: State) -> None:
    """Let every module in LISTENERS add its listeners to the Bolt app."""
    for name in LISTENERS:
        register: Registrar = importlib.import_module(name).register_listeners
        register(bolt, state)


@asynccontextmanager
async def slack(app: Starlette) -> AsyncIterator[None]:
    """Start the Bolt app and its client when Slack is configured; say once when it is not."""
    settings: Settings = app.state.settings
    app.state.slack_app = None
    app.state.slack = None
    app.state.slack_zones = None
    if not settings.slack_configured:
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", settings.slack_bot_token),
                ("SLACK_SIGNING_SECRET", settings.slack_signing_secret),
            )
            if not value
        ]
        log.info("Slack is off", extra={"missing": missing})
        yield
        return

    # One connection pool for every Web API call of this process (Bolt's too).
    session = aiohttp.ClientSession()
    try:
        client = build_client(settings, session)
        bolt = build_bolt_app(settings, client)
        app.state.slack_app = bolt
        app.state.slack = client
        # People's time zones from their Slack profiles, cached (bot.reminders.zones).
        app.state.slack_zones = SlackZones(client)
        register_all(bolt, app.state)
        log.info("Slack is on", extra={"slack_api_url": settings.slack_api_url})
        yield
    finally:
        app.state.slack_app = None
        app.state.slack = None
        app.state.slack_zones = None
        await session.close()
