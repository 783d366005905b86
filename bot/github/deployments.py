"""A `deployment_protection_rule` payload as our own shape (pure; no I/O).

GitHub asks the App to review a deployment: the run waits until the App POSTs a
decision to `deployment_callback_url` with an installation token. That URL comes in
the payload, so it is checked here: it must be the review endpoint of this very
repository's run, under GITHUB_API_URL, or the installation token would go elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.github.mapping import PayloadError, part

MAX_TEXT = 255  # refs and logins fit our columns
# The release id is "{run id}/{environment}" in a column of 255 characters.
MAX_ENVIRONMENT = 200


class CallbackRefused(PayloadError):
    """The callback URL is not GitHub's review endpoint for this run under GITHUB_API_URL."""


@dataclass(frozen=True)
class DeploymentReview:
    """What the gate needs of a deployment waiting for the App's review."""

    repository: str  # owner/name
    environment: str
    ref: str
    sha: str | None
    event: str | None
    run_id: int
    run_url: str  # the workflow run's page, for people
    callback_url: str
    installation_id: int
    creator_login: str | None
    creator_id: int | None

    @property
    def release_id(self) -> str:
        return f"{self.run_id}/{self.environment}"

    @property
    def release_name(self) -> str:
        return f"{self.environment} ← {self.ref}"[:MAX_TEXT]

    def details(self) -> dict[str, Any]:
        """What the release keeps of it (shown in the audit, used by the callbacks)."""
        return {
            "repository": self.repository,
            "environment": self.environment,
            "ref": self.ref,
            "sha": self.sha,
            "event": self.event,
            "run_id": self.run_id,
            "run_url": self.run_url,
            "callback_url": self.callback_url,
            "installation_id": self.installation_id,
            "creator": self.creator_login,
            "creator_id": self.creator_id,
        }


def _text(obj: Mapping[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(f"{what}.{key} is missing or not a string")
    if len(value) > MAX_TEXT or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise PayloadError(f"{what}.{key} is not a plausible name")
    return value.strip()


def _optional_text(obj: Mapping[str, Any], key: str) -> str | None:
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
    prefix = base.path.rstrip("/")
    pattern = (
        re.escape(prefix)
        + r"/repos/([A-Za-z0-9._-]+/[A-Za-z0-9._-]+)/actions/runs/(\d{1,20})"
        + r"/deployment_protection_rule"
    )
    match = re.fullmatch(pattern, given.path)
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


def deployment_review(data: Mapping[str, Any], api_url: str) -> DeploymentReview:
    """The shape of a `deployment_protection_rule` delivery; PayloadError when malformed,
    CallbackRefused when its callback URL is not GitHub's (under `api_url`)."""
    repository = part(data, "repository")
    full_name = _text(repository, "full_name", "repository")
    environment = _text(data, "environment", "payload")
    if len(environment) > MAX_ENVIRONMENT:
        raise PayloadError(f"payload.environment is longer than {MAX_ENVIRONMENT} characters")
    deployment = part(data, "deployment")
    installation = part(data, "installation")
    installation_id = installation.get("id")
    if not isinstance(installation_id, int) or isinstance(installation_id, bool):
        raise PayloadError("installation.id is missing or not an int")
    callback_url = data.get("deployment_callback_url")
    if not isinstance(callback_url, str):
        raise PayloadError("payload.deployment_callback_url is missing or not a string")
    run_id = callback_run_id(callback_url, api_url, full_name)
    creator = deployment.get("creator")
    creator = creator if isinstance(creator, Mapping) else {}
    creator_id = creator.get("id")
    html_url = _optional_text(repository, "html_url") or f"https://github.com/{full_name}"
    return DeploymentReview(
        repository=full_name,
        environment=environment,
        ref=_text(deployment, "ref", "deployment"),
        sha=_optional_text(deployment, "sha"),
        event=_optional_text(data, "event"),
        run_id=run_id,
        run_url=f"{html_url}/actions/runs/{run_id}",
        callback_url=callback_url,
        installation_id=installation_id,
        creator_login=_optional_text(creator, "login"),
        creator_id=creator_id if isinstance(creator_id, int) else None,
    )
