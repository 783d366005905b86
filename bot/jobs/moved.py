"""A repository renamed or transferred: GitHub answers its old owner/name with a 301.

The project learns the new owner and name from `GET /repositories/{id}` (a move keeps
the id), read into a `Repository` shape and stored like any other, and the cycle goes
on with it, without waiting for a `repository` webhook (an App created before it
subscribed to those never gets one).
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from gidgethub import RedirectionException

from bot.github import parse
from bot.github.client import ReviewerAPI
from bot.store import github_state

log = logging.getLogger(__name__)

# GitHub's 301 points at the id-based URL: https://api.github.com/repositories/1296269/pulls
MOVED_TO = re.compile(r"/repositories/(\d+)(?:/|$)")


def moved_repository_id(project: dict, exc: RedirectionException) -> int | None:
    """The GitHub id of the repository that moved, or None when the answer is not a move."""
    if exc.status_code != HTTPStatus.MOVED_PERMANENTLY:
        return None
    if project["github_id"] is not None:
        return project["github_id"]
    found = MOVED_TO.search(exc.headers.get("location", ""))
    return int(found.group(1)) if found else None


async def follow_move(
    state: Any, project: dict, api: ReviewerAPI, exc: RedirectionException
) -> bool:
    """Bring the project to its repository's new owner/name; False when it did not move."""
    repository_id = moved_repository_id(project, exc)
    if repository_id is None:
        return False
    repository = parse.repository(await api.getitem("/repositories/{id}", {"id": repository_id}))
    if (repository.owner, repository.name) == (project["repo_owner"], project["repo_name"]):
        return False  # a redirect, but not to another name: following it would go round
    async with state.db.transaction():
        project.update(await github_state.upsert_project(state.db, repository, state.clock()))
    log.warning("the repository moved; the project follows it", extra={"to": repository.full_name})
    return True
