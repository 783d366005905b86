"""Webhook payloads telling a pull request's story, built on the real sample payloads.

The samples are one moment each, with times that do not follow one another; these
builders put a chosen state and time into them so a test can play a consistent
sequence (or shuffle it).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.store.clock import iso
from tests.webhook_client import payload


def github_user(login: str, github_id: int) -> dict[str, Any]:
    user = copy.deepcopy(payload("pull_request/opened")["pull_request"]["user"])
    user.update(login=login, id=github_id, url=f"https://api.github.com/users/{login}")
    return user


AUTHOR = github_user("Codertocat", 21031067)
OCTOCAT = github_user("octocat", 5346)
HUBOT = github_user("hubot", 7)


def github_team(slug: str) -> dict[str, Any]:
    return {"id": 1000 + len(slug), "name": slug.title(), "slug": slug, "privacy": "closed"}


@dataclass(frozen=True)
class PullRequest:
    """What GitHub would show of a pull request at `updated_at`."""

    github_id: int
    number: int
    updated_at: datetime
    title: str = "Update the README with new information."
    state: str = "open"
    draft: bool = False
    merged: bool = False
    labels: tuple[str, ...] = ()
    reviewers: tuple[dict[str, Any], ...] = ()
    teams: tuple[str, ...] = ()
    closed_at: datetime | None = None
    merged_at: datetime | None = None
    author: dict[str, Any] = field(default_factory=lambda: AUTHOR)

    def but(self, **changes: Any) -> PullRequest:
        return replace(self, **changes)

    def as_object(self) -> dict[str, Any]:
        pr = payload("pull_request/opened")["pull_request"]
        pr.update(
            id=self.github_id,
            number=self.number,
            title=self.title,
            html_url=f"https://github.com/Codertocat/Hello-World/pull/{self.number}",
            state=self.state,
            draft=self.draft,
            merged=self.merged,
            user=self.author,
            labels=[{"id": 1, "name": name, "color": "d73a4a"} for name in self.labels],
            requested_reviewers=list(self.reviewers),
            requested_teams=[github_team(slug) for slug in self.teams],
            updated_at=iso(self.updated_at),
            closed_at=iso(self.closed_at),
            merged_at=iso(self.merged_at),
        )
        return pr


def pull_request_event(action: str, pr: PullRequest, **extra: Any) -> dict[str, Any]:
    """A `pull_request` delivery with `action` showing `pr`."""
    data = payload("pull_request/opened")
    data.update(action=action, number=pr.number, pull_request=pr.as_object(), **extra)
    return data


def review_event(
    action: str,
    pr: PullRequest,
    review_id: int,
    user: dict[str, Any],
    state: str,
    submitted_at: datetime,
) -> dict[str, Any]:
    """A `pull_request_review` delivery; its pull request lacks `merged`, as GitHub's does."""
    data = payload("pull_request_review/submitted")
    pr_object = pr.as_object()
    del pr_object["merged"]
    data.update(action=action, pull_request=pr_object)
    data["review"].update(id=review_id, user=user, state=state, submitted_at=iso(submitted_at))
    return data


def repository_event(action: str, owner: str, name: str, **extra: Any) -> dict[str, Any]:
    """A `repository` delivery (`renamed`, `transferred`, ...): the sample pull request's
    repository under a new owner and name, its GitHub id unchanged."""
    sample = payload("pull_request/opened")
    repository = sample["repository"]
    repository.update(
        name=name, full_name=f"{owner}/{name}", html_url=f"https://github.com/{owner}/{name}"
    )
    repository["owner"]["login"] = owner
    return {
        "action": action,
        "repository": repository,
        "sender": sample["sender"],
        "installation": sample["installation"],
        **extra,
    }
