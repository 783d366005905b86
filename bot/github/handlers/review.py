"""`pull_request_review` deliveries: the review, and its pull request if we lack it."""

from __future__ import annotations

from datetime import datetime

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github import parse
from bot.github.handlers.common import project_of
from bot.store import github_state
from bot.store.database import Database

router = Router()


async def review_changed(
    event: Event, db: Database, now: datetime
) -> github_state.StoredPullRequest:
    """`submitted`, `edited`, `dismissed`: store the review unless ours is newer.

    The payload's `pull_request` is stored first (it may be the first we hear of it,
    and it is as new as the review). A submitted review ends its author's idleness
    because it is later than their request.
    """
    delivery = parse.review_delivery(event.data)
    review = delivery.review
    project = await project_of(db, delivery, now)
    stored = await github_state.store_pull_request(
        db, project["id"], delivery.pull_request, now, reviews=[review]
    )
    await github_state.upsert_reviews(db, stored.id, [review], stored.user_ids)
    return stored


for _action in ("submitted", "edited", "dismissed"):
    router.add(review_changed, "pull_request_review", action=_action)
