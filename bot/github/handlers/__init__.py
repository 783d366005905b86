"""Webhook handlers, one module per event family; `router` routes a delivery to them.

Every handler is `async def handler(event, db, now)` and runs inside the delivery's
transaction.
"""

from __future__ import annotations

from gidgethub.routing import Router

from bot.github.handlers import installation, pull_request, repository, review

router = Router(installation.router, pull_request.router, repository.router, review.router)
