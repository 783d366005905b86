"""What a reader may see, as SQL conditions: the repositories GitHub says they can access.

A person signed in with GitHub sees the projects of those repositories (matched by
GitHub id, or by `owner/name` for a project added by hand before its id was known),
their pull requests, and the users who appear on them: authors, reviewers and
requested reviewers (a user's metadata holds emails and Slack ids, so nobody is listed
to a person who shares no repository with them). Releases carry no repository id: a
release whose TeamProject names a project's repository (the GitHub Actions gate) is
seen with that repository; one from another CD system (an Azure DevOps team project)
by every person who sees at least one repository. Bearer tokens and public reads see
everything (`EVERYTHING`): their queries get no condition at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import sqlalchemy as sa

from bot.store.tables import projects, pull_requests, releases, review_requests, reviews, users


@dataclass(frozen=True)
class Visible:
    """Repositories a reader may see; `repo_ids` None means every one."""

    repo_ids: frozenset[int] | None = None
    repo_names: frozenset[str] = field(default_factory=frozenset)  # "owner/name", lower case

    @classmethod
    def repositories(cls, repos: Iterable[tuple[int, str]]) -> Visible:
        """From GitHub's (id, full_name) pairs."""
        pairs = list(repos)
        return cls(frozenset(i for i, _ in pairs), frozenset(n.lower() for _, n in pairs))

    @property
    def everything(self) -> bool:
        return self.repo_ids is None

    @cached_property
    def key(self) -> str:
        """Stands for this set in an ETag: equal sets, equal keys."""
        if self.repo_ids is None:
            return "*"
        text = ",".join(map(str, sorted(self.repo_ids))) + "|" + ",".join(sorted(self.repo_names))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


EVERYTHING = Visible()


def _full_name(owner: sa.ColumnElement, name: sa.ColumnElement) -> sa.ColumnElement[str]:
    return sa.func.lower(owner + "/" + name)


def project_condition(visible: Visible) -> sa.ColumnElement[bool] | None:
    if visible.repo_ids is None:
        return None
    return sa.or_(
        projects.c.github_id.in_(sorted(visible.repo_ids)),
        _full_name(projects.c.repo_owner, projects.c.repo_name).in_(sorted(visible.repo_names)),
    )


def visible_project_ids(visible: Visible) -> sa.Select:
    condition = project_condition(visible)
    assert condition is not None
    return sa.select(projects.c.id).where(condition)


def pull_request_condition(visible: Visible) -> sa.ColumnElement[bool] | None:
    if visible.everything:
        return None
    return pull_requests.c.project_id.in_(visible_project_ids(visible))


def user_condition(visible: Visible) -> sa.ColumnElement[bool] | None:
    """Users who author, reviewed or were asked to review a visible pull request."""
    if visible.everything:
        return None
    prs = sa.select(pull_requests.c.id).where(pull_request_condition(visible))
    people = sa.union(
        sa.select(pull_requests.c.user_id).where(pull_request_condition(visible)),
        sa.select(reviews.c.user_id).where(reviews.c.pull_request_id.in_(prs)),
        sa.select(review_requests.c.user_id).where(review_requests.c.pull_request_id.in_(prs)),
    )
    return users.c.id.in_(people)


def release_condition(visible: Visible) -> sa.ColumnElement[bool] | None:
    """Releases of a visible repository, and those naming no project's repository."""
    if visible.everything:
        return None
    if not visible.repo_ids and not visible.repo_names:
        return sa.false()
    team_project = sa.func.lower(releases.c.team_project)
    some_project = sa.select(projects.c.id).where(
        _full_name(projects.c.repo_owner, projects.c.repo_name) == team_project
    )
    return sa.or_(team_project.in_(sorted(visible.repo_names)), ~some_project.exists())


def where(*conditions: sa.ColumnElement[bool] | None) -> list[sa.ColumnElement[bool]]:
    """The conditions that apply (None: the reader sees everything)."""
    return [c for c in conditions if c is not None]
