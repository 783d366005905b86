"""`deployment_protection_rule` deliveries: a deployment waits for the release gate.

`requested` opens a release for the run and environment (approvers are fetched and
notified after the commit); the decision goes back to the run's callback URL.
"""

from __future__ import annotations

import logging
from datetime import datetime

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github import parse
from bot.github.followups import AfterCommit
from bot.releases.callback_sender import deliver_due
from bot.releases.intake import open_github_release
from bot.releases.work import process_release
from bot.store.database import Database

log = logging.getLogger(__name__)

# Handlers here also take the app (`AfterCommit`): settings, and work after the commit.
router = Router()


@router.register("deployment_protection_rule", action="requested")
async def deployment_review_requested(
    event: Event, db: Database, now: datetime, app: AfterCommit
) -> None:
    try:
        delivery = parse.deployment_protection_delivery(
            event.data, app.state.settings.github_api_url
        )
    except parse.CallbackRefused as exc:
        # The installation token would go with the callback: never anywhere but GitHub.
        log.warning("deployment callback URL refused", extra={"error": str(exc)})
        raise
    release, created = await open_github_release(db, delivery, now)
    if created:
        app.later(process_release, app.state, release["id"])
    else:
        app.later(deliver_due, app.state, release["id"])
