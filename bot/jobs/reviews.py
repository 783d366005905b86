"""ReviewFetcher: reviews and requested reviewers of the open pull requests that changed.

Per project it pages the open pull requests, most recently updated first, and stops
at the first one not updated since its last complete pass (`projects.synced_at`,
less a margin for GitHub's clock and its lag): a review, a review request or its
removal all move a pull request's `updated_at`, so what lies beyond is known. For
each changed pull request it stores the pull request with its requested reviewers
(a request GitHub no longer lists is withdrawn) and its reviews, all through the
functions the webhooks use. With nothing changed a pass is one conditional request.
"""

from __future__ import annotations

from contextlib import aclosing
from datetime import datetime, timedelta
from typing import Any

from bot.github import parse
from bot.github.client import ReviewerAPI
from bot.github.shapes import PullRequest, Review
from bot.jobs.cycle import run_cycle
from bot.jobs.pull_requests import adopt_repository, open_pulls
from bot.jobs.summary import Counts, Summary
from bot.progress import Progress
from bot.reminders import realtime
from bot.store import github_state, sync_state

NAME = "ReviewFetcher"
MARGIN = timedelta(minutes=5)
REVIEWS = "/repos/{owner}/{repo}/pulls/{number}/reviews{?per_page}"


def changed_since(pr: PullRequest, since: datetime | None) -> bool:
    return since is None or pr.updated_at >= since


async def fetch_reviews(api: ReviewerAPI, project: dict, number: int) -> list[Review]:
    """A pull request's submitted reviews (a pending one is its author's draft), leaving
    out those of deleted accounts."""
    url_vars = {
        "owner": project["repo_owner"],
        "repo": project["repo_name"],
        "number": number,
        "per_page": api.github.per_page,
    }
    reviews = [parse.review(obj) async for obj in api.getiter(REVIEWS, url_vars)]
    return [r for r in reviews if r.state != "PENDING" and r.author is not None]


async def store(state: Any, project: dict, pr: PullRequest, reviews: list[Review]) -> int:
    """Store a pull request, its review requests and its reviews, all or nothing.

    Returns how many reviews are new or changed.
    """
    db, now = state.db, state.clock()
    async with db.transaction():
        # Every user in one statement with the pull request's (see store_pull_request).
        stored = await github_state.store_pull_request(db, project["id"], pr, now, reviews=reviews)
        before = await sync_state.review_states(db, stored.id)
        written = await github_state.upsert_reviews(db, stored.id, reviews, stored.user_ids)
    await realtime.announce(state, realtime.made_requests([stored]))  # after the commit
    return sum(
        r.github_id in written and before.get(r.github_id) != (r.state, r.submitted_at)
        for r in reviews
    )


async def sync_project(state: Any, project: dict, api: ReviewerAPI) -> Counts:
    counts = Counts()
    started = state.clock()
    since = project["synced_at"] - MARGIN if project["synced_at"] else None
    async with aclosing(open_pulls(api, project)) as pulls:
        async for obj in pulls:
            pr = parse.pull_request(obj)
            if not changed_since(pr, since):
                break  # most recently updated first: the rest is as the last pass left it
            api.check_rate_limit()
            reviews = await fetch_reviews(api, project, pr.number)
            await adopt_repository(state, project, obj)
            counts.reviews += await store(state, project, pr, reviews)
            counts.checked += 1
    await sync_state.mark_synced(state.db, project["id"], started)
    return counts


async def fetch_reviews_cycle(
    state: Any, only: str | None = None, progress: Progress | None = None
) -> Summary:
    """One ReviewFetcher cycle over every active project (or the one named)."""
    return await run_cycle(state, NAME, sync_project, only, progress)


async def job(state: Any) -> Summary:
    return await fetch_reviews_cycle(state)
