"""What we keep of GitHub's objects and deliveries: our own typed shapes.

The way in is one-directional: a webhook payload or a REST answer is read into these
shapes once, by the pure functions of `bot.github.parse`, and `bot.store` takes only
these (it knows nothing of GitHub's JSON). A new webhook event adds its delivery shape
here and its reader there; its handler reads the payload once and calls the store.

Frozen dataclasses with slots, not pydantic models, on purpose:

- Speed is a wash. Webhook ingestion is a hot path, but the payload is already a dict
  (gidgethub decoded it) of which we keep a dozen fields out of hundreds. Measured on the
  `pull_request` sample (best of 30 rounds, loaded 2-core machine): `parse.pull_request`
  8 µs, an equivalent pydantic v2 model (aliases, validators) 6.5 µs, and `json.loads`
  of that 24 KB body, which happens before either, 126 µs. A dataclass with slots is
  built without validation, as cheaply as a tuple, so stores and tests make them freely.
- The shapes are ours, not GitHub's: `merged` comes from `merged_at` where the object
  lacks it, the owner from `full_name` where there is no `owner`, the review state in
  one letter case, labels sorted. That is code either way; pydantic would wrap it in
  validators and aliases. And `PayloadError` names the field
  (`pull_request.updated_at is missing`) in the 422 a malformed delivery gets, where
  pydantic's ValidationError would need translating back to that.
- Frozen: a shape is a fact GitHub told us; nothing downstream changes it.
  `dataclasses.replace` makes a changed copy (tests use it for older/newer versions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class GitHubUser:
    github_id: int
    login: str


@dataclass(frozen=True, slots=True)
class Team:
    slug: str


@dataclass(frozen=True, slots=True)
class Repository:
    github_id: int
    owner: str
    name: str
    # GitHub's `updated_at` of the repository, where the object has one: a rename moves it,
    # so of two pictures of one repository the later one names it.
    updated_at: datetime | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True, slots=True)
class PullRequest:
    """A pull request as GitHub showed it at `updated_at`, with whom it awaits reviews from."""

    github_id: int
    number: int
    title: str
    url: str
    state: str  # "open" or "closed"
    draft: bool
    merged: bool
    labels: tuple[str, ...]  # sorted, so equal sets compare equal
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    merged_at: datetime | None
    author: GitHubUser | None  # GitHub may send none
    requested_reviewers: tuple[GitHubUser, ...] = ()
    requested_teams: tuple[str, ...] = ()  # team slugs


@dataclass(frozen=True, slots=True)
class Review:
    github_id: int
    state: str  # APPROVED, COMMENTED, CHANGES_REQUESTED, DISMISSED or PENDING
    submitted_at: datetime | None  # None while pending
    author: GitHubUser | None  # None for a deleted account


# Deliveries -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepositoryDelivery:
    """Any delivery about one repository, and the App installation it came through."""

    repository: Repository
    installation_id: int | None


@dataclass(frozen=True, slots=True)
class PullRequestDelivery(RepositoryDelivery):
    """`pull_request`: the pull request changed (opened, edited, closed, labeled, ...)."""

    pull_request: PullRequest


@dataclass(frozen=True, slots=True)
class ReviewRequestDelivery(PullRequestDelivery):
    """`pull_request` `review_requested`/`review_request_removed`, of a user or a team."""

    reviewer: GitHubUser | Team
    requested: bool  # False: the request was withdrawn


@dataclass(frozen=True, slots=True)
class ReviewDelivery(PullRequestDelivery):
    """`pull_request_review`: a review was submitted, edited or dismissed."""

    review: Review  # its author is always there


@dataclass(frozen=True, slots=True)
class InstallationDelivery:
    """`installation`: the App was installed, removed, suspended or unsuspended."""

    installation_id: int
    repositories: tuple[Repository, ...]


@dataclass(frozen=True, slots=True)
class RepositoriesDelivery:
    """`installation_repositories`: repositories joined or left an installation."""

    installation_id: int
    added: tuple[Repository, ...]
    removed: tuple[Repository, ...]


@dataclass(frozen=True, slots=True)
class HookDelivery:
    """One attempt of the App's webhook, as `GET /app/hook/deliveries` lists it."""

    id: int  # the attempt's: the one to ask again
    guid: str  # X-GitHub-Delivery, shared by every attempt of one delivery
    delivered_at: datetime
    status_code: int  # 0 when no answer came (a refused connection, a timeout)
    event: str
    action: str | None
    redelivery: bool

    @property
    def answered_2xx(self) -> bool:
        return 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class DeploymentProtectionDelivery:
    """`deployment_protection_rule` `requested`: a deployment waits for the App's review,
    to be POSTed to `callback_url` (the run's review endpoint) as the installation."""

    repository: str  # owner/name
    environment: str
    ref: str
    sha: str | None
    event: str | None  # what started the workflow: push, workflow_dispatch, ...
    run_id: int
    run_url: str  # the workflow run's page, for people
    callback_url: str
    installation_id: int
    creator: GitHubUser | None  # who created the deployment
