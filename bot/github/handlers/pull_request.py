"""`pull_request` deliveries: the pull request as the payload shows it, with its author
and its review requests."""

from __future__ import annotations

from datetime import datetime

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github import mapping
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
    project = await project_of(db, event.data, now)
    pr = mapping.part(event.data, "pull_request")
    return await github_state.store_pull_request(db, project["id"], pr, now)


async def review_request_changed(
    event: Event, db: Database, now: datetime
) -> github_state.StoredPullRequest:
    """`review_requested`/`review_request_removed`: a user or a team, named by the event."""
    data = event.data
    project = await project_of(db, data, now)
    target = data.get("requested_team") or mapping.part(data, "requested_reviewer")
    added = data["action"] == "review_requested"
    return await github_state.store_pull_request(
        db,
        project["id"],
        mapping.part(data, "pull_request"),
        now,
        requested=target if added else None,
        withdrawn=None if added else target,
    )


for _action in CHANGES:
    router.add(pull_request_changed, "pull_request", action=_action)
for _action in ("review_requested", "review_request_removed"):
    router.add(review_request_changed, "pull_request", action=_action)
