"""The approvers of a release, from APPROVERS_URL: fetched over HTTP, then validated."""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote

import httpx

from bot.api.fields import has_control_characters

log = logging.getLogger(__name__)

FIELDS = ("name", "email", "slack_id", "github_login")
MAX_LENGTHS = {"name": 255, "email": 255, "slack_id": 64, "github_login": 100}
MAX_APPROVERS = 100
MAX_BODY_BYTES = 1_000_000

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
TRIES = 3
RETRY_DELAY = 0.25  # seconds before the second try; doubled before each next one


class ApproversError(Exception):
    """The approvers could not be had; `str()` says why, for the release's status."""


@dataclass(frozen=True)
class Approver:
    name: str | None = None
    email: str | None = None
    slack_id: str | None = None
    github_login: str | None = None

    def as_row(self) -> dict[str, str | None]:
        return asdict(self)

    def keys(self) -> set[tuple[str, str]]:
        """Two entries sharing a key are the same person."""
        keys = set()
        if self.email:
            keys.add(("email", self.email.lower()))
        if self.slack_id:
            keys.add(("slack_id", self.slack_id))
        if self.github_login:
            keys.add(("github_login", self.github_login.lower()))
        return keys or {("name", self.name or "")}

    @property
    def label(self) -> str:
        """How the approver is named to people."""
        return self.name or self.email or self.github_login or self.slack_id or "?"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Built once: loading the CA bundle takes tens of milliseconds of the event loop,
    which a client made per release would spend again each time."""
    return httpx.create_ssl_context()


def approvers_url(template: str, team_project: str, environment: str = "") -> str:
    """APPROVERS_URL with `{TeamProject}` and `{Environment}` (a GitHub deployment's
    environment; empty for other releases) filled in, escaped for a URL."""
    return template.replace("{TeamProject}", quote(team_project, safe="")).replace(
        "{Environment}", quote(environment, safe="")
    )


def leave_out(
    approvers: list[Approver], person: set[tuple[str, str]]
) -> tuple[list[Approver], list[Approver]]:
    """(kept, left out): the approvers who are not `person` (keys as `Approver.keys`),
    and those who are, e.g. a deployment's creator, who never approves their own."""
    kept = [a for a in approvers if not a.keys() & person]
    return kept, [a for a in approvers if a.keys() & person]


# Characters that would make a To header name more than one mailbox, or a display name.
NOT_IN_ADDRESS = frozenset(' ,;:<>()[]"\\')


def is_one_address(email: str) -> bool:
    """A single plain address: the approver's link must reach that one person
    ("ann@x.test,bob@x.test" in one entry would mail Ann's token to Bob too)."""
    local, _, domain = email.partition("@")
    return bool(local and domain) and "@" not in domain and not NOT_IN_ADDRESS & set(email)


def parse_approver(index: int, entry: Any) -> Approver:
    where = f"approver {index + 1}"
    if not isinstance(entry, dict):
        raise ApproversError(f"{where} is not an object")
    values: dict[str, str] = {}
    for name in FIELDS:
        value = entry.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ApproversError(f"{where}: {name} must be a string")
        value = value.strip()
        if has_control_characters(value):
            raise ApproversError(f"{where}: {name} contains control characters")
        if len(value) > MAX_LENGTHS[name]:
            raise ApproversError(f"{where}: {name} is longer than {MAX_LENGTHS[name]} characters")
        if value:
            values[name] = value
    if not values:
        raise ApproversError(f"{where} has none of {', '.join(FIELDS)}")
    email = values.get("email")
    if email is not None and not is_one_address(email):
        raise ApproversError(f"{where}: email {email!r} is not an address")
    return Approver(**values)


def parse_approvers(payload: Any) -> list[Approver]:
    """A JSON list of approvers, or `{"approvers": [...]}`; junk raises ApproversError.

    An empty list is an error too: a release nobody can approve must not pass.
    Duplicates (same email, Slack id or GitHub login) count once.
    """
    if isinstance(payload, dict):
        if "approvers" not in payload:
            raise ApproversError("the answer is an object without an approvers list")
        payload = payload["approvers"]
    if not isinstance(payload, list):
        raise ApproversError("the answer is neither a list nor an object with an approvers list")
    if not payload:
        raise ApproversError("the approvers list is empty")
    if len(payload) > MAX_APPROVERS:
        raise ApproversError(f"more than {MAX_APPROVERS} approvers")
    approvers: list[Approver] = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(payload):
        approver = parse_approver(index, entry)
        if not approver.keys() & seen:
            seen |= approver.keys()
            approvers.append(approver)
    return approvers


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError)


async def _get_json(client: httpx.AsyncClient, url: str) -> Any:
    response = await client.get(url, headers={"Accept": "application/json"})
    response.raise_for_status()
    if len(response.content) > MAX_BODY_BYTES:
        raise ApproversError("the answer is too large")
    try:
        return response.json()
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        raise ApproversError("the answer is not JSON") from None


def describe(exc: Exception) -> str:
    """A short reason for the release's status; never the URL's secrets."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"the approvers source answered {exc.response.status_code}"
    if isinstance(exc, httpx.TimeoutException):
        return "the approvers source did not answer in time"
    if isinstance(exc, httpx.TransportError):
        return f"the approvers source is unreachable ({type(exc).__name__})"
    return str(exc)


async def fetch_approvers(
    template: str,
    team_project: str,
    *,
    environment: str = "",
    tries: int = TRIES,
    retry_delay: float = RETRY_DELAY,
) -> list[Approver]:
    """GET the approvers, retrying timeouts, dropped connections, 5xx and 429."""
    url = approvers_url(template, team_project, environment)
    async with httpx.AsyncClient(
        timeout=TIMEOUT, follow_redirects=True, verify=tls_context()
    ) as client:
        for attempt in range(1, tries + 1):
            try:
                return parse_approvers(await _get_json(client, url))
            except (httpx.HTTPError, ApproversError) as exc:
                if attempt == tries or not _retryable(exc):
                    raise ApproversError(describe(exc)) from exc
                log.warning(
                    "approvers source failed, retrying",
                    extra={"attempt": attempt, "error": describe(exc)},
                )
                await asyncio.sleep(retry_delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
