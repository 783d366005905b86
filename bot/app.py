"""The Starlette application: routes, error handlers and the lifespan of its parts."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from bot.api import (
    approval,
    dashboard,
    docs,
    github_webhooks,
    health,
    projects,
    pull_requests,
    queue,
    releases,
    setup,
    signin,
    stats,
    users,
)
from bot.api.access import AccessMiddleware, RepositoryCache
from bot.api.conditional import ConditionalMiddleware
from bot.api.declare import api_routes
from bot.api.errors import EXCEPTION_HANDLERS
from bot.api.middleware import RequestLogMiddleware
from bot.api.routing import IndexedRouter
from bot.monitoring import error_reporting
from bot.settings import Settings, load_settings
from bot.slack import app as slack_app
from bot.slack import events as slack_events
from bot.store.clock import utcnow
from bot.store.database import Database

log = logging.getLogger(__name__)

# A part of the service that starts with the app and stops with it, in reverse order.
Component = Callable[[Starlette], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def database(app: Starlette) -> AsyncIterator[None]:
    await app.state.db.connect()
    # A process that died between a commit and its bump left the data version behind;
    # new code or settings may also show the same rows differently: ETags start afresh.
    try:
        await app.state.db.bump_version()
    except Exception as exc:  # a database not migrated yet, say: the first read retries
        log.warning("could not move the data version", extra={"error": type(exc).__name__})
    try:
        yield
    finally:
        await app.state.db.disconnect()


@asynccontextmanager
async def github(app: Starlette) -> AsyncIterator[None]:
    from bot.github.client import GitHub

    # The clock is read through app.state at each use, so a test's clock applies.
    app.state.github = GitHub(app.state.settings, clock=lambda: app.state.clock())
    try:
        yield
    finally:
        await app.state.github.aclose()


@asynccontextmanager
async def scheduler(app: Starlette) -> AsyncIterator[None]:
    """The periodic jobs, when SCHEDULER is on; last, so every other part is up."""
    if not app.state.settings.scheduler:
        yield
        return
    from bot.jobs.scheduler import Scheduler

    async with Scheduler(app.state) as app.state.scheduler:
        yield


COMPONENTS: tuple[Component, ...] = (
    error_reporting,
    database,
    github,
    slack_app.slack,
    # Last: every job finds the other parts up, and it stops first.
    scheduler,
)


@asynccontextmanager
async def logged(component: Component, app: Starlette) -> AsyncIterator[None]:
    """A component, with a log line once it has started and once it has stopped."""
    name = getattr(component, "__name__", repr(component))
    async with component(app):
        log.info("component started", extra={"component": name})
        yield
    log.info("component stopped", extra={"component": name})


# Every route is declared (bot/api/declare.py): /docs.json is generated from this table.
ROUTES: list[BaseRoute] = [
    *api_routes(
        health.api,
        docs.api,
        projects.api,
        users.api,
        pull_requests.api,
        queue.api,
        stats.api,
        releases.api,
        approval.api,
        slack_events.api,
        setup.api,
        signin.api,
        github_webhooks.api,
        dashboard.api,
    ),
    dashboard.assets,
]

# Outermost first: who reads is known before the ETag, which depends on it.
MIDDLEWARE = [
    Middleware(RequestLogMiddleware),
    Middleware(AccessMiddleware),
    Middleware(ConditionalMiddleware),
]


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the service; nothing connects until the lifespan starts."""
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for component in COMPONENTS:
                await stack.enter_async_context(logged(component, app))
            yield

    app = Starlette(
        routes=ROUTES,
        middleware=MIDDLEWARE,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    # The same routes, found by their path rather than by trying each in turn.
    app.router = IndexedRouter(ROUTES, lifespan=lifespan)
    app.state.settings = settings
    # The manifest flow's one-time states and where it writes the App's credentials.
    app.state.setup = setup.SetupState()
    app.state.db = Database(settings.database_url)
    # Each signed-in person's visible repositories, so polls do not each ask GitHub.
    app.state.repositories = RepositoryCache()
    # Code that needs "now" asks the app, so tests can hand it a clock of their own.
    app.state.clock = utcnow
    return app


def set_start_up_aside() -> None:
    """Keep what start-up made (the libraries' and the app's objects) out of every later
    garbage collection, in a process that serves.

    A full collection walked all of them, some 120,000 objects: 62 ms during which no
    request moved, which was the p99 of `make bench`'s reads. They live as long as the
    process, so after one last collection `gc.freeze()` sets them aside and only what
    requests create is walked again.
    """
    gc.collect()
    gc.freeze()
    log.info(
        "start-up objects set aside from garbage collection",
        extra={"objects": gc.get_freeze_count()},
    )


def create_worker_app() -> Starlette:
    """The app of one `reviewer serve` worker process (WEB_CONCURRENCY > 1).

    A worker is a fresh interpreter: it reads the settings and sets up the JSON logs
    itself, as `reviewer serve` did in the parent.
    """
    from bot.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, log_format=settings.log_format or "json")
    app = create_app(settings)
    set_start_up_aside()
    return app


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[Starlette]:
    """The app with its parts started but no server and no scheduler: for CLI commands.

    `reviewer sync`, `remind` and the like run their job against `app.state`, the
    same objects the served app uses.
    """
    app = create_app(settings.model_copy(update={"scheduler": False}))
    async with app.router.lifespan_context(app):
        yield app
