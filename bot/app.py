"""The Starlette application: routes, error handlers and the lifespan of its parts."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from bot.api import approval, docs, health, projects, pull_requests, releases, users
from bot.api.errors import EXCEPTION_HANDLERS
from bot.settings import Settings, load_settings
from bot.slack import app as slack_app
from bot.slack import events as slack_events
from bot.store.clock import utcnow
from bot.store.database import Database

# A part of the service that starts with the app and stops with it, in reverse order.
Component = Callable[[Starlette], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def database(app: Starlette) -> AsyncIterator[None]:
    await app.state.db.connect()
    try:
        yield
    finally:
        await app.state.db.disconnect()


COMPONENTS: tuple[Component, ...] = (database, slack_app.slack)

ROUTES: list[BaseRoute] = [
    *health.routes,
    *docs.routes,
    *projects.routes,
    *users.routes,
    *pull_requests.routes,
    *releases.routes,
    *approval.routes,
    *slack_events.routes,
]


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the service; nothing connects until the lifespan starts."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for component in COMPONENTS:
                await stack.enter_async_context(component(app))
            yield

    app = Starlette(routes=ROUTES, exception_handlers=EXCEPTION_HANDLERS, lifespan=lifespan)
    app.state.settings = settings
    app.state.db = Database(settings.database_url)
    # Code that needs "now" asks the app, so tests can hand it a clock of their own.
    app.state.clock = utcnow
    return app


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[Starlette]:
    """The app with its parts started but no server and no scheduler: for CLI commands.

    `reviewer sync`, `remind` and the like run their job against `app.state`, the
    same objects the served app uses.
    """
    app = create_app(dataclasses.replace(settings, scheduler=False))
    async with app.router.lifespan_context(app):
        yield app
