"""Error reporting to Sentry, when SENTRY_DSN is set and the `sentry` extra is installed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette

from bot.settings import Settings

log = logging.getLogger(__name__)

# Request parts that may carry bearer tokens, approval tokens or signatures.
_REQUEST_SECRETS = ("headers", "cookies", "query_string", "data", "env")


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Drop whatever of the request could hold a secret before an event leaves."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in _REQUEST_SECRETS:
            request.pop(key, None)
        if isinstance(request.get("url"), str):
            request["url"] = request["url"].split("?", 1)[0]
    return event


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Outgoing HTTP calls are kept as breadcrumbs; their query strings are not."""
    data = crumb.get("data")
    if isinstance(data, dict):
        data.pop("http.query", None)
        if isinstance(data.get("url"), str):
            data["url"] = data["url"].split("?", 1)[0]
    return crumb


def init_sentry(settings: Settings, **options: Any) -> bool:
    """Start reporting errors (requests, and error log lines such as a failed job).

    Returns whether Sentry is on. `options` go to `sentry_sdk.init` as they are.
    """
    if not settings.sentry_dsn:
        return False
    try:
        import sentry_sdk
        from sentry_sdk.integrations.starlette import StarletteIntegration
    except ImportError:
        log.warning(
            "SENTRY_DSN is set but sentry-sdk is not installed: pip install 'reviewer[sentry]'"
        )
        return False
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        integrations=[StarletteIntegration()],
        # Frames' local variables hold the request's scope: headers, query string, body.
        include_local_variables=False,
        before_send=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        **options,
    )
    return True


@asynccontextmanager
async def error_reporting(app: Starlette) -> AsyncIterator[None]:
    """A component of the app: Sentry from start-up on, its queue flushed at shutdown."""
    on = init_sentry(app.state.settings)
    try:
        yield
    finally:
        if on:
            import sentry_sdk

            await asyncio.to_thread(sentry_sdk.flush, 5)
