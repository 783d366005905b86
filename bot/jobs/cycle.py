"""A fetcher's cycle: every active project, with the right credentials, one failure at a time.

One failing project is logged and counted and the others go on; a rate limit that
runs low stops the cycle early, and the summary says so.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from gidgethub import BadRequest, RateLimitExceeded, RedirectionException

from bot.github.auth import InstallationGone
from bot.github.client import GitHub, RateLimitLow, ReviewerAPI
from bot.jobs.moved import follow_move
from bot.jobs.summary import Counts, Summary
from bot.logs import log_context
from bot.progress import Progress
from bot.store import sync_state

log = logging.getLogger(__name__)

ProjectWork = Callable[[Any, dict, ReviewerAPI], Awaitable[Counts]]


async def find_installation(github: GitHub, owner: str, name: str) -> int | None:
    """The App's installation on a repository, asked as the App; None when not installed."""
    try:
        answer = await github.app_api().getitem(
            "/repos/{owner}/{repo}/installation", {"owner": owner, "repo": name}
        )
    except BadRequest as exc:
        if exc.status_code == 404:
            return None
        raise
    return int(answer["id"])


async def api_for(state: Any, project: dict) -> ReviewerAPI | None:
    """The API to read a project's repository with; None when the App is not installed there."""
    github: GitHub = state.github
    if github.uses_token:
        return github.token_api()
    installation_id = project["installation_id"]
    if installation_id is None:
        installation_id = await find_installation(
            github, project["repo_owner"], project["repo_name"]
        )
        await sync_state.set_installation(state.db, project["id"], installation_id)
        if installation_id is None:
            return None
        log.info("found the App's installation", extra={"installation_id": installation_id})
    return github.installation_api(installation_id)


async def work_on(state: Any, project: dict, api: ReviewerAPI, work: ProjectWork) -> Counts:
    """`work` on the project, once more after following its repository's move (a 301)."""
    try:
        return await work(state, project, api)
    except RedirectionException as exc:
        if not await follow_move(state, project, api, exc):
            raise
    return await work(state, project, api)


def full_name(project: dict) -> str:
    return f"{project['repo_owner']}/{project['repo_name']}"


async def run_cycle(
    state: Any,
    job: str,
    work: ProjectWork,
    only: str | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Run `work` for every active project (or the one named `only`); return the summary."""
    github: GitHub = state.github
    summary = Summary(job=job)
    before = github.stats.copy()
    say = progress.step if progress else (lambda line: None)
    if not github.configured:
        summary.stopped = (
            "GitHub is not configured: set GITHUB_APP_ID and a private key, or GITHUB_TOKEN"
        )
        log.warning(summary.stopped)
        return summary
    projects = await sync_state.active_projects(state.db, only)
    if progress:
        progress.begin(len(projects))
    for project in projects:
        name = full_name(project)
        token = log_context.set({**(log_context.get() or {}), "project": name})
        requests_before = github.stats.requests
        try:
            api = await api_for(state, project)
            if api is None:
                summary.skipped += 1
                log.warning("the App is not installed on this repository; skipped")
                say(f"{name}: skipped, the App is not installed on it")
                continue
            api.check_rate_limit()
            counts = await work_on(state, project, api, work)
        except (RateLimitLow, RateLimitExceeded) as exc:
            summary.stopped = f"{exc} (at {name})"
            log.warning("rate limit low; the cycle stops early", extra={"error": str(exc)})
            say(f"{name}: stopped, {exc}")
            break
        except InstallationGone as exc:
            # Uninstalled: forget it; the next cycle looks the repository up again.
            await sync_state.set_installation(state.db, project["id"], None)
            summary.skipped += 1
            log.warning("the App's installation is gone; skipped", extra={"error": str(exc)})
            say(f"{name}: skipped, {exc}")
        except Exception as exc:
            summary.failed += 1
            log.exception("project sync failed")
            say(f"{name}: failed, {type(exc).__name__}: {exc}")
        else:
            summary.projects += 1
            summary.counts.add(counts)
            used = github.stats.requests - requests_before
            say(f"{name}: {counts.describe()} ({used} requests)")
        finally:
            log_context.reset(token)
    if progress:
        progress.end()
    summary.cost(github, before)
    return summary
