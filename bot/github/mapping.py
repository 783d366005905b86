"""GitHub objects (webhook payloads and REST API answers) to rows of our tables.

Pure functions: no I/O. The webhook's nested `pull_request`, `review`, `user` and
`repository` objects have the shapes of the REST API's answers (`GET /repos/{o}/{r}/pulls`,
`GET .../pulls/{n}/reviews`), so the webhooks and the poller share these.
A malformed object raises `PayloadError` naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

REVIEW_STATES = ("APPROVED", "COMMENTED", "CHANGES_REQUESTED", "DISMISSED", "PENDING")


class PayloadError(ValueError):
    """A GitHub object lacks a field we need, or holds a value of the wrong type."""


def _field(obj: Any, key: str, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(obj, Mapping):
        raise PayloadError(f"{what} is not an object")
    value = obj.get(key)
    # bool is an int in Python; an id or a number must not be a bool.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PayloadError(f"{what}.{key} is missing or not a {getattr(kind, '__name__', kind)}")
    return value


def part(payload: Any, key: str) -> Mapping[str, Any]:
    """A nested object of a payload (`part(data, "pull_request")`), or PayloadError."""
    return _field(payload, key, Mapping, "payload")


def parse_time(value: Any, what: str = "time") -> datetime | None:
    """GitHub's ISO 8601 time (`2019-05-15T15:20:33Z`) as an aware UTC datetime; None stays None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{what} is not a string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise PayloadError(f"{what} is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _required_time(obj: Mapping, key: str, what: str) -> datetime:
    value = parse_time(obj.get(key), f"{what}.{key}")
    if value is None:
        raise PayloadError(f"{what}.{key} is missing")
    return value


def user_row(user: Any) -> dict[str, Any]:
    """A GitHub user (`{"login", "id", ...}`) as `{github_id, username}`."""
    return {
        "github_id": _field(user, "id", int, "user"),
        "username": _field(user, "login", str, "user"),
    }


def pull_request_author(pr: Mapping[str, Any]) -> dict[str, Any] | None:
    """The author of a pull request as a user row; None when GitHub sends no user."""
    user = pr.get("user")
    return None if user is None else user_row(user)


def labels(pr: Mapping[str, Any]) -> list[str]:
    """The names of a pull request's labels, sorted, so equal sets compare equal."""
    raw = pr.get("labels") or []
    if not isinstance(raw, list):
        raise PayloadError("pull_request.labels is not a list")
    return sorted(_field(label, "name", str, "label") for label in raw)


def pull_request_row(pr: Any) -> dict[str, Any]:
    """A `pull_request` object as the columns of `pull_requests` (no project or author ids).

    `merged` is missing from the REST list endpoint and from review payloads;
    there a `merged_at` says it.
    """
    what = "pull_request"
    github_id = _field(pr, "id", int, what)
    merged_at = parse_time(pr.get("merged_at"), f"{what}.merged_at")
    merged = pr.get("merged")
    state = _field(pr, "state", str, what).lower()
    if state not in ("open", "closed"):
        raise PayloadError(f"{what}.state is neither open nor closed: {state!r}")
    return {
        "github_id": github_id,
        "number": _field(pr, "number", int, what),
        "title": _field(pr, "title", str, what),
        "url": _field(pr, "html_url", str, what),
        "state": state,
        "draft": bool(pr.get("draft") or False),
        "merged": merged if isinstance(merged, bool) else merged_at is not None,
        "labels": labels(pr),
        "created_at": _required_time(pr, "created_at", what),
        "updated_at": _required_time(pr, "updated_at", what),
        "closed_at": parse_time(pr.get("closed_at"), f"{what}.closed_at"),
        "merged_at": merged_at,
    }


def review_row(review: Any) -> dict[str, Any]:
    """A `review` object as `{github_id, state, submitted_at}`, the state in GitHub's API case."""
    state = _field(review, "state", str, "review").upper()
    if state not in REVIEW_STATES:
        raise PayloadError(f"review.state is not a known review state: {state!r}")
    return {
        "github_id": _field(review, "id", int, "review"),
        "state": state,
        "submitted_at": parse_time(review.get("submitted_at"), "review.submitted_at"),
    }


def review_author(review: Mapping[str, Any]) -> dict[str, Any] | None:
    user = review.get("user")
    return None if user is None else user_row(user)


def requested_reviewers(pr: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The users a pull request awaits a review from, as user rows."""
    raw = pr.get("requested_reviewers") or []
    if not isinstance(raw, list):
        raise PayloadError("pull_request.requested_reviewers is not a list")
    return [user_row(user) for user in raw]


def team_slug(team: Any) -> str:
    return _field(team, "slug", str, "team")


def requested_teams(pr: Mapping[str, Any]) -> list[str]:
    """The slugs of the teams a pull request awaits a review from."""
    raw = pr.get("requested_teams") or []
    if not isinstance(raw, list):
        raise PayloadError("pull_request.requested_teams is not a list")
    return [team_slug(team) for team in raw]


def project_row(repository: Any) -> dict[str, Any]:
    """A repository as project fields: repo_owner, repo_name, github_id, name ("owner/name").

    The installation events list repositories without an `owner` object; there the
    owner comes from `full_name`.
    """
    what = "repository"
    github_id = _field(repository, "id", int, what)
    owner_obj = repository.get("owner")
    if isinstance(owner_obj, Mapping) and isinstance(owner_obj.get("login"), str):
        owner = owner_obj["login"]
        name = _field(repository, "name", str, what)
    else:
        full_name = _field(repository, "full_name", str, what)
        owner, _, name = full_name.partition("/")
        if not owner or not name:
            raise PayloadError(f"{what}.full_name is not owner/name: {full_name!r}")
    return {
        "repo_owner": owner,
        "repo_name": name,
        "github_id": github_id,
        "name": f"{owner}/{name}",
    }


def installation_id(payload: Mapping[str, Any]) -> int | None:
    """The id of the App installation a delivery came through, if it names one."""
    installation = payload.get("installation")
    if installation is None:
        return None
    return _field(installation, "id", int, "installation")
