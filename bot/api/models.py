"""The read API's shapes: what a request may carry and what an answer holds.

Inputs are pydantic models (validated); answers are TypedDicts, which pydantic
serialises straight from our rows (dicts), with no per-row object or validation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer
from typing_extensions import TypedDict

from bot.api.fields import (
    MAX_ID,
    Flag,
    GitHubOwner,
    GitHubRepo,
    NonEmpty,
    Text,
    WholeNumber,
    refuse,
)
from bot.reminders.people import metadata_errors

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000


class Body(BaseModel):
    """A JSON body: JSON types as they are (no "7" for 7), and no field we do not know."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """A query string: values are text, read by each field's type; others are ignored."""

    model_config = ConfigDict(extra="ignore")


# --- queries ----------------------------------------------------------------------------


class Paging(Query):
    # Bounded so that the offset stays a 64-bit integer for the database.
    page: Annotated[int, WholeNumber(1, MAX_ID), Field(description="Page number, from 1.")] = 1
    per_page: Annotated[int, WholeNumber(1, MAX_PER_PAGE), Field(description="Items per page.")] = (
        DEFAULT_PER_PAGE
    )


class CursorPaging(Paging):
    """Paging of a list in id order, which also takes a keyset cursor (GitHub's way).

    The queue and releases keep `Paging` alone: releases are newest first, and neither
    answers an `after`."""

    after: Annotated[
        int | None,
        WholeNumber(0, MAX_ID),
        Field(
            description="Items with an id above this one (a cursor, as the `next` link "
            "carries); not with `page`."
        ),
    ] = None


class Details(Query):
    details: Annotated[bool, Flag(), Field(description="Add the details lists.")] = False


# A pull request id below which a user's details lists start (a cursor, from `Link`).
Before = Annotated[int | None, WholeNumber(1, MAX_ID)]


class UserDetailsQuery(Details):
    """The details lists hold the newest pull requests below a cursor; `Link: rel="next"`
    hands out the next cursors."""

    before: Annotated[
        Before,
        Field(
            description="With `details=true`: each list holds the newest pull requests "
            "whose id is below this one (a cursor; `Link` gives the next). Ignored without "
            "`details=true`."
        ),
    ] = None
    approved_before: Annotated[
        Before, Field(description="Like `before`, for `approved_pull_requests` alone.")
    ] = None
    commented_before: Annotated[
        Before, Field(description="Like `before`, for `commented_pull_requests` alone.")
    ] = None
    idled_before: Annotated[
        Before, Field(description="Like `before`, for `idled_pull_requests` alone.")
    ] = None

    def cursor(self, kind: str) -> int | None:
        """The bound of one list (`approved`, `commented`, `idled`): its own, else `before`."""
        own = getattr(self, f"{kind}_before")
        return self.before if own is None else own


class PullRequestFilter(CursorPaging):
    state: Annotated[
        Literal["open", "closed", "all"], Field(description="Which pull requests.")
    ] = "open"
    project_id: Annotated[int | None, WholeNumber(), Field(description="Only this project's.")] = (
        None
    )
    user_id: Annotated[int | None, WholeNumber(), Field(description="Only this author's.")] = None


# --- bodies -----------------------------------------------------------------------------


class NewProject(Body):
    name: Annotated[Text, Field(examples=["The Docker CLI"])]
    repo_owner: Annotated[GitHubOwner, Field(examples=["docker"])]
    repo_name: Annotated[GitHubRepo, Field(examples=["cli"])]


MetadataKey = Annotated[str, NonEmpty("keys must be non-empty strings")]


def reminder_keys(metadata: dict[str, Any]) -> dict[str, Any]:
    """The reminders' keys must mean something (see bot.reminders.people)."""
    errors = metadata_errors(metadata)
    if errors:
        raise refuse(
            "; ".join(f"{key.removeprefix('metadata.')} {why}" for key, why in errors.items())
        )
    return metadata


class UserPatch(Body):
    metadata: Annotated[
        dict[MetadataKey, Any],
        AfterValidator(reminder_keys),
        Field(
            description="Merged into the stored metadata; a key set to null is removed. "
            "Reminders read `slack_id`, `email`, `timezone` (an IANA name), `snooze_until` "
            "(ISO 8601), `realtime` (true or false) and `reminders` (false: off).",
            examples=[{"slack_id": "UG12345"}],
        ),
    ]


class NewRelease(Body):
    """A release a pipeline asks about (Azure DevOps' names)."""

    # A pipeline's body may carry more of the release's fields: they are ignored.
    model_config = ConfigDict(extra="ignore")

    ReleaseName: Annotated[Text, Field(examples=["Desafio-CD"])]
    ReleaseId: Annotated[Text, Field(examples=["386"])]
    TeamProject: Annotated[Text, Field(examples=["Devx"])]


# --- answers ----------------------------------------------------------------------------

Time = Annotated[datetime, Field(description="ISO 8601, UTC, with a Z.")]


class Project(TypedDict):
    id: int
    name: str
    repo_owner: str
    repo_name: str
    github_id: int | None
    installation_id: int | None
    installed: Annotated[
        bool | None,
        Field(description="Whether the App is installed on the repository; null until known."),
    ]
    active: Annotated[bool, Field(description="False once no longer synced.")]
    synced_at: Time | None


class User(TypedDict):
    id: int
    username: str
    github_id: int
    metadata: Annotated[dict[str, Any], Field(examples=[{"slack_id": "UG12345"}])]


class PullRequest(TypedDict):
    id: int
    user_id: int | None
    project_id: int
    title: str
    url: Annotated[str, Field(json_schema_extra={"format": "uri"})]
    number: int
    github_id: int
    created_at: Time
    updated_at: Time
    state: Literal["open", "closed"]
    draft: bool
    merged: bool
    # Rows stored before labels were kept hold none.
    labels: Annotated[list[str], PlainSerializer(lambda v: v or [], return_type=list[str])]
    closed_at: Time | None


class UserDetails(User):
    approved_pull_requests: list[PullRequest]
    commented_pull_requests: list[PullRequest]
    idled_pull_requests: list[PullRequest]


class PullRequestDetails(PullRequest):
    author: Annotated[str | None, Field(description="The author's login.")]
    approvers: list[str]
    commenters: list[str]
    idlers: list[str]


class Status(TypedDict):
    status: Literal["ok"]


class Readiness(TypedDict):
    status: Literal["ok", "unavailable"]
    database: NotRequired[Annotated[str, Field(description="The backend: sqlite or postgresql.")]]
    detail: NotRequired[Annotated[str, Field(description="Why it is not ready.")]]
