"""`pull_request` deliveries: the pull request as the payload shows it, with its author
and its review requests."""

from __future__ import annotations

from datetime import datetime

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github import parse
from bot.github.handlers.common import project_of
from bot.store import github_state
from bot.store.database import Database

router = Router()

# Actions whose payload is a newer picture of the pull request and nothing more.
CHANGES = (
    "opened",
    "edited",
    "reopened",
    "closed",
    "synchronize",
    "ready_for_review",
    "converted_to_draft",
    "assigned",
    "unassigned",
    "labeled",
    "unlabeled",
)


async def pull_request_changed(
    event: Event, db: Database, now: datetime
) -> github_state.StoredPullRequest:
    delivery = parse.pull_request_delivery(event.data)
    project = await project_of(db, delivery, now)
    return await github_state.store_pull_request(db, project["id"], delivery.pull_request, now)


async def review_request_changed(
    event: Event, db: Database, now: datetime
) -> github_state.StoredPullRequest:
    """`review_requested`/`review_request_removed`: a user or a team, named by the event."""
    delivery = parse.review_request_delivery(event.data)
    project = await project_of(db, delivery, now)
    return await github_state.store_pull_request(
        db,
        project["id"],
        delivery.pull_request,
        now,
        requested=delivery.reviewer if delivery.requested else None,
        withdrawn=None if delivery.requested else delivery.reviewer,
    )


for _action in CHANGES:
    router.add(pull_request_changed, "pull_request", action=_action)
for _action in ("review_requested", "review_request_removed"):
    router.add(review_request_changed, "pull_request", action=_action)
