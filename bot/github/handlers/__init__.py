"""Webhook handlers, one module per event family; `router` routes a delivery to them.

Every handler is `async def handler(event, db, now)` and runs inside the delivery's
transaction. Handlers in `app_router` also take the app (`bot.github.followups.AfterCommit`):
its settings, and work to run once the delivery is committed.
"""

from __future__ import annotations

from gidgethub.routing import Router

from bot.github.handlers import (
    deployment_protection,
    installation,
    pull_request,
    repository,
    review,
)

router = Router(installation.router, pull_request.router, repository.router, review.router)
app_router = Router(deployment_protection.router)
