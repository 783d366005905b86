"""GitHub's JSON (webhook payloads and REST answers) read into our shapes (`bot.github.shapes`).

Pure functions: no I/O. The webhook's nested `pull_request`, `review`, `user` and
`repository` objects have the shapes of the REST API's answers (`GET /repos/{o}/{r}/pulls`,
`GET .../pulls/{n}/reviews`), so the webhooks and the poller share these readers.
A malformed object raises `PayloadError` naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from re import escape, fullmatch
from typing import Any
from urllib.parse import urlsplit

from bot.github.shapes import (
    DeploymentProtectionDelivery,
    GitHubUser,
    HookDelivery,
    InstallationDelivery,
    PullRequest,
    PullRequestDelivery,
    RepositoriesDelivery,
    Repository,
    RepositoryDelivery,
    Review,
    ReviewDelivery,
    ReviewRequestDelivery,
    Team,
)

REVIEW_STATES = frozenset({"APPROVED", "COMMENTED", "CHANGES_REQUESTED", "DISMISSED", "PENDING"})


class PayloadError(ValueError):
    """A GitHub object lacks a field we need, or holds a value of the wrong type."""


def _field(obj: Any, key: str, kind: type, what: str) -> Any:
    # `type(...) is` first: decoded JSON is dicts, strs and ints, and the ABC check of
    # `isinstance(obj, Mapping)` costs several times more (this runs ~20 times a delivery).
    if type(obj) is not dict and not isinstance(obj, Mapping):
        raise PayloadError(f"{what} is not an object")
    value = obj.get(key)
    if type(value) is kind or (kind is Mapping and type(value) is dict):
        return value
    # bool is an int in Python; an id or a number must not be a bool.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PayloadError(f"{what}.{key} is missing or not a {kind.__name__}")
    return value


def part(payload: Any, key: str) -> Mapping[str, Any]:
    """A nested object of a payload (`part(data, "pull_request")`), or PayloadError."""
    return _field(payload, key, Mapping, "payload")


def _list(obj: Mapping[str, Any], key: str, what: str) -> list[Any]:
    """A list field; missing or null is empty."""
    raw = obj.get(key) or []
    if not isinstance(raw, list):
        raise PayloadError(f"{what}.{key} is not a list")
    return raw


def parse_time(value: Any, what: str = "time") -> datetime | None:
    """GitHub's ISO 8601 time (`2019-05-15T15:20:33Z`) as an aware UTC datetime; None stays None."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PayloadError(f"{what} is not a string")
    try:
        parsed = datetime.fromisoformat(value)  # takes GitHub's "Z" since Python 3.11
    except ValueError:
        raise PayloadError(f"{what} is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is UTC:
        return parsed
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _required_time(obj: Mapping[str, Any], key: str, what: str) -> datetime:
    value = parse_time(obj.get(key), f"{what}.{key}")
    if value is None:
        raise PayloadError(f"{what}.{key} is missing")
    return value


# Objects -------------------------------------------------------------------------------


def user(obj: Any) -> GitHubUser:
    """A GitHub user (`{"login", "id", ...}`)."""
    return GitHubUser(_field(obj, "id", int, "user"), _field(obj, "login", str, "user"))


def _optional_user(obj: Mapping[str, Any]) -> GitHubUser | None:
    found = obj.get("user")
    return None if found is None else user(found)


def team(obj: Any) -> Team:
    return Team(_field(obj, "slug", str, "team"))


def labels(pr: Mapping[str, Any]) -> tuple[str, ...]:
    """The names of a pull request's labels, sorted, so equal sets compare equal."""
    return tuple(
        sorted(_field(label, "name", str, "label") for label in _list(pr, "labels", "pull_request"))
    )


def pull_request(obj: Any) -> PullRequest:
    """A `pull_request` object (a webhook's, or an item of `GET .../pulls`).

    `merged` is missing from the REST list endpoint and from review payloads;
    there a `merged_at` says it.
    """
    what = "pull_request"
    github_id = _field(obj, "id", int, what)
    state = _field(obj, "state", str, what).lower()
    if state not in ("open", "closed"):
        raise PayloadError(f"{what}.state is neither open nor closed: {state!r}")
    merged_at = parse_time(obj.get("merged_at"), f"{what}.merged_at")
    merged = obj.get("merged")
    return PullRequest(
        github_id=github_id,
        number=_field(obj, "number", int, what),
        title=_field(obj, "title", str, what),
        url=_field(obj, "html_url", str, what),
        state=state,
        draft=bool(obj.get("draft") or False),
        merged=merged if isinstance(merged, bool) else merged_at is not None,
        labels=labels(obj),
        created_at=_required_time(obj, "created_at", what),
        updated_at=_required_time(obj, "updated_at", what),
        closed_at=parse_time(obj.get("closed_at"), f"{what}.closed_at"),
        merged_at=merged_at,
        author=_optional_user(obj),
        requested_reviewers=tuple(user(u) for u in _list(obj, "requested_reviewers", what)),
        requested_teams=tuple(team(t).slug for t in _list(obj, "requested_teams", what)),
    )


def review(obj: Any) -> Review:
    """A `review` object, its state in the REST API's letter case (webhooks send lower case)."""
    state = _field(obj, "state", str, "review").upper()
    if state not in REVIEW_STATES:
        raise PayloadError(f"review.state is not a known review state: {state!r}")
    return Review(
        github_id=_field(obj, "id", int, "review"),
        state=state,
        submitted_at=parse_time(obj.get("submitted_at"), "review.submitted_at"),
        author=_optional_user(obj),
    )


def repository(obj: Any) -> Repository:
    """A repository; the installation events list them without an `owner` object, and
    there the owner comes from `full_name`."""
    what = "repository"
    github_id = _field(obj, "id", int, what)
    owner_obj = obj.get("owner")
    raw_time = obj.get("updated_at")
    # The installation events' repositories have no time; a time we cannot read is none.
    updated_at = parse_time(raw_time, f"{what}.updated_at") if isinstance(raw_time, str) else None
    if isinstance(owner_obj, dict | Mapping) and isinstance(owner_obj.get("login"), str):
        name = _field(obj, "name", str, what)
        return Repository(github_id, owner_obj["login"], name, updated_at)
    full_name = _field(obj, "full_name", str, what)
    owner, _, name = full_name.partition("/")
    if not owner or not name:
        raise PayloadError(f"{what}.full_name is not owner/name: {full_name!r}")
    return Repository(github_id, owner, name, updated_at)


def base_repository(obj: Any) -> Repository:
    """The repository a `pull_request` object merges into (`base.repo`)."""
    return repository(_field(_field(obj, "base", Mapping, "pull_request"), "repo", Mapping, "base"))


# Deliveries (webhook payloads) ---------------------------------------------------------


def installation_id(payload: Mapping[str, Any]) -> int | None:
    """The id of the App installation a delivery came through, if it names one."""
    installation = payload.get("installation")
    if installation is None:
        return None
    return _field(installation, "id", int, "installation")


def required_installation_id(payload: Mapping[str, Any]) -> int:
    """The installation of an `installation*` delivery, which always names one."""
    found = installation_id(payload)
    if found is None:
        raise PayloadError("payload.installation is missing")
    return found


def repository_delivery(payload: Mapping[str, Any]) -> RepositoryDelivery:
    return RepositoryDelivery(repository(part(payload, "repository")), installation_id(payload))


def pull_request_delivery(payload: Mapping[str, Any]) -> PullRequestDelivery:
    return PullRequestDelivery(
        repository(part(payload, "repository")),
        installation_id(payload),
        pull_request(part(payload, "pull_request")),
    )


def review_request_delivery(payload: Mapping[str, Any]) -> ReviewRequestDelivery:
    """`review_requested`/`review_request_removed`: the user or the team the event names."""
    requested_team = payload.get("requested_team")
    return ReviewRequestDelivery(
        repository(part(payload, "repository")),
        installation_id(payload),
        pull_request(part(payload, "pull_request")),
        reviewer=(
            team(requested_team) if requested_team else user(part(payload, "requested_reviewer"))
        ),
        requested=payload.get("action") == "review_requested",
    )


def review_delivery(payload: Mapping[str, Any]) -> ReviewDelivery:
    found = review(part(payload, "review"))
    if found.author is None:
        raise PayloadError("review.user is missing")
    return ReviewDelivery(
        repository(part(payload, "repository")),
        installation_id(payload),
        pull_request(part(payload, "pull_request")),
        found,
    )


def _repositories(payload: Mapping[str, Any], key: str) -> tuple[Repository, ...]:
    return tuple(repository(obj) for obj in _list(payload, key, "payload"))


def installation_delivery(payload: Mapping[str, Any]) -> InstallationDelivery:
    return InstallationDelivery(
        required_installation_id(payload), _repositories(payload, "repositories")
    )


def repositories_delivery(payload: Mapping[str, Any]) -> RepositoriesDelivery:
    return RepositoriesDelivery(
        required_installation_id(payload),
        _repositories(payload, "repositories_added"),
        _repositories(payload, "repositories_removed"),
    )


def hook_delivery(obj: Any) -> HookDelivery:
    """An attempt of the App's webhook (`GET /app/hook/deliveries`)."""
    what = "delivery"
    action = obj.get("action") if isinstance(obj, Mapping) else None
    status = obj.get("status_code") if isinstance(obj, Mapping) else None
    return HookDelivery(
        id=_field(obj, "id", int, what),
        guid=_field(obj, "guid", str, what),
        delivered_at=_required_time(obj, "delivered_at", what),
        # GitHub lists an attempt that got no answer with a 0 (or no) status code.
        status_code=status if isinstance(status, int) and not isinstance(status, bool) else 0,
        event=_field(obj, "event", str, what),
        action=action if isinstance(action, str) else None,
        redelivery=bool(obj.get("redelivery")),
    )


# --- deployment_protection_rule ---------------------------------------------------------

# Refs and logins fit our columns; the release id is "{run id}/{environment}" in 255.
MAX_TEXT = 255
MAX_ENVIRONMENT = 200


class CallbackRefused(PayloadError):
    """The callback URL is not GitHub's review endpoint for this run under GITHUB_API_URL:
    the installation token goes with the callback, so it never goes anywhere else."""


def _name(obj: Mapping[str, Any], key: str, what: str, limit: int = MAX_TEXT) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(f"{what}.{key} is missing or not a string")
    if len(value) > limit:
        raise PayloadError(f"{what}.{key} is longer than {limit} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise PayloadError(f"{what}.{key} holds control characters")
    return value.strip()


def _optional_name(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and 0 < len(value) <= MAX_TEXT else None


def callback_run_id(url: str, api_url: str, repository: str) -> int:
    """The run id in `url`, GitHub's review endpoint for a run of `repository` under
    `api_url`; CallbackRefused for anything else (another host, repository or path)."""
    try:
        given, base = urlsplit(url), urlsplit(api_url)
        same_origin = (given.scheme, given.hostname, given.port) == (
            base.scheme,
            base.hostname,
            base.port,
        )
    except ValueError:
        raise CallbackRefused(f"deployment_callback_url is not a URL: {url!r}") from None
    pattern = (
        escape(base.path.rstrip("/"))
        + r"/repos/([A-Za-z0-9._-]+/[A-Za-z0-9._-]+)/actions/runs/(\d{1,20})"
        + r"/deployment_protection_rule"
    )
    match = fullmatch(pattern, given.path)
    if (
        not same_origin
        or given.username is not None
        or given.query
        or given.fragment
        or match is None
        or match.group(1).lower() != repository.lower()
    ):
        raise CallbackRefused(
            f"deployment_callback_url {url!r} is not {repository}'s review endpoint "
            f"under GITHUB_API_URL ({api_url})"
        )
    return int(match.group(2))


def deployment_protection_delivery(
    payload: Mapping[str, Any], api_url: str
) -> DeploymentProtectionDelivery:
    """A `deployment_protection_rule` delivery; PayloadError when malformed, CallbackRefused
    when its callback URL is not the run's review endpoint under `api_url`."""
    repo = part(payload, "repository")
    full_name = _name(repo, "full_name", "repository")
    deployment = part(payload, "deployment")
    callback_url = payload.get("deployment_callback_url")
    if not isinstance(callback_url, str):
        raise PayloadError("payload.deployment_callback_url is missing or not a string")
    environment = _name(payload, "environment", "payload", MAX_ENVIRONMENT)
    installation = required_installation_id(payload)
    run_id = callback_run_id(callback_url, api_url, full_name)
    creator = deployment.get("creator")
    html_url = _optional_name(repo, "html_url") or f"https://github.com/{full_name}"
    return DeploymentProtectionDelivery(
        repository=full_name,
        environment=environment,
        ref=_name(deployment, "ref", "deployment"),
        sha=_optional_name(deployment, "sha"),
        event=_optional_name(payload, "event"),
        run_id=run_id,
        run_url=f"{html_url}/actions/runs/{run_id}",
        callback_url=callback_url,
        installation_id=installation,
        creator=user(creator) if isinstance(creator, Mapping) and creator.get("id") else None,
    )
