"""`pull_request_review` deliveries: the review, and its pull request if we lack it."""

from __future__ import annotations

from datetime import datetime

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github import mapping
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
    data = event.data
    review = mapping.part(data, "review")
    row = mapping.review_row(review)
    author = mapping.review_author(review)
    if author is None:
        raise mapping.PayloadError("review.user is missing")
    project = await project_of(db, data, now)
    stored = await github_state.store_pull_request(
        db, project["id"], mapping.part(data, "pull_request"), now, people=[author]
    )
    await github_state.upsert_reviews(db, stored.id, [(stored.user_ids[author["github_id"]], row)])
    return stored


for _action in ("submitted", "edited", "dismissed"):
    router.add(review_changed, "pull_request_review", action=_action)
