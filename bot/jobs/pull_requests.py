"""PullRequestFetcher: every active project's open pull requests, as GitHub lists them.

Per project: the open pull requests, most recently updated first, every page a
conditional request (an unchanged page is a free 304), each read into our shape
(`bot.github.parse`); those newer than what is stored are written through the same
functions as the webhooks. A pull request
stored as open that GitHub no longer lists as open is fetched once and stored
closed or merged.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from bot.github import parse
from bot.github.client import ReviewerAPI
from bot.github.shapes import PullRequest
from bot.jobs.cycle import run_cycle
from bot.jobs.summary import Counts, Summary
from bot.progress import Progress
from bot.reminders import realtime
from bot.store import github_state, sync_state

log = logging.getLogger(__name__)

NAME = "PullRequestFetcher"
OPEN_PULLS = "/repos/{owner}/{repo}/pulls{?state,sort,direction,per_page}"


def open_pulls(api: ReviewerAPI, project: dict) -> AsyncIterator[dict]:
    """The repository's open pull requests, most recently updated first, page by page."""
    return api.getiter(
        OPEN_PULLS,
        {
            "owner": project["repo_owner"],
            "repo": project["repo_name"],
            "state": "open",
            "sort": "updated",
            "direction": "desc",
            "per_page": api.github.per_page,
        },
    )


def is_newer(pr: PullRequest, stored: dict | None) -> bool:
    """Whether GitHub's pull request is newer than the stored one (or not stored open)."""
    return stored is None or pr.updated_at > stored["updated_at"]


async def adopt_repository(state: Any, project: dict, listed: dict) -> None:
    """Learn a project's repository id from a listed pull request's `base.repo` (a
    project made through the API has none yet)."""
    if project["github_id"] is not None:
        return
    repository = parse.base_repository(listed)
    project.update(await github_state.upsert_project(state.db, repository, state.clock()))


async def store(state: Any, project: dict, pr: PullRequest) -> bool:
    """Write one pull request with its author and review requests; True when applied."""
    async with state.db.transaction():
        stored = await github_state.store_pull_request(state.db, project["id"], pr, state.clock())
    await realtime.announce(state, realtime.made_requests([stored]))  # after the commit
    return stored.applied


async def sync_project(state: Any, project: dict, api: ReviewerAPI) -> Counts:
    counts = Counts()
    known = await sync_state.open_pull_requests(state.db, project["id"])
    listed: set[int] = set()
    async with aclosing(open_pulls(api, project)) as pulls:
        async for obj in pulls:
            pr = parse.pull_request(obj)
            listed.add(pr.github_id)
            stored = known.get(pr.github_id)
            if not is_newer(pr, stored):
                continue
            await adopt_repository(state, project, obj)
            if await store(state, project, pr):
                if stored is None:
                    counts.added += 1
                else:
                    counts.updated += 1
    for github_id, stored in known.items():
        if github_id in listed:
            continue
        # Stored open, no longer listed open: closed or merged while a webhook was lost.
        api.check_rate_limit()
        obj = await api.getitem(
            "/repos/{owner}/{repo}/pulls/{number}",
            {
                "owner": project["repo_owner"],
                "repo": project["repo_name"],
                "number": stored["number"],
            },
        )
        pr = parse.pull_request(obj)
        if await store(state, project, pr) and pr.state != "open":
            counts.closed += 1
    return counts


async def fetch_pull_requests(
    state: Any, only: str | None = None, progress: Progress | None = None
) -> Summary:
    """One PullRequestFetcher cycle over every active project (or the one named)."""
    return await run_cycle(state, NAME, sync_project, only, progress)


async def job(state: Any) -> Summary:
    return await fetch_pull_requests(state)
