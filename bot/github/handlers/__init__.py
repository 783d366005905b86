"""Webhook handlers, one module per event family; `router` routes a delivery to them.

Every handler is `async def handler(event, db, now)` and runs inside the delivery's
transaction. It reads the payload once into its delivery shape (`bot.github.parse`,
`bot.github.shapes`) and hands the shapes to the store; nothing else reads the JSON.
What it returns (the store's `StoredPullRequest`, say) the webhook route uses after the
commit (real-time DMs of the review requests it made). Handlers in `app_router` also take
the app (`bot.github.followups.AfterCommit`): its settings, and work to run once the
delivery is committed.
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
