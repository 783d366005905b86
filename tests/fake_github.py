"""A stateful GitHub REST API behind respx, built from real payloads.

It serves what the pollers read (open pull requests sorted by `updated`, one pull
request, its reviews, a repository's installation, installation tokens) as GitHub
does: pages with `Link` headers, ETags honoured with 304 (which cost no rate limit),
`X-RateLimit-*` headers per credential, App JWTs verified with the App's public key,
installation tokens that expire. Faults (5xx, 429, timeouts) can be queued.
Also used by `python -m tests.bench`.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import respx

from tests.webhook_client import payload

BASE_URL = "https://github.test/api/v3"
APP_ID = "4242"
LIST_ONLY_OMITS = (
    "merged",
    "mergeable",
    "rebaseable",
    "mergeable_state",
    "merged_by",
    "comments",
    "review_comments",
    "maintainer_can_modify",
    "commits",
    "additions",
    "deletions",
    "changed_files",
)


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    """A clock the test moves; the app and the fake read the same one."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = (start or datetime.now(UTC)).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    status: int
    auth: str  # the Authorization header as sent ("token ghs_…", "bearer <jwt>")
    conditional: bool

    @property
    def scheme(self) -> str:
        return self.auth.split(" ")[0].lower()


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int = 502
    headers: dict[str, str] = field(default_factory=dict)
    exception: type[Exception] | None = None


class Repo:
    def __init__(self, fake: FakeGitHub, owner: str, name: str, installation_id: int | None):
        self.fake = fake
        self.owner = owner
        self.name = name
        self.id = next(fake.ids)
        self.installation_id = installation_id
        self.pulls: dict[int, dict[str, Any]] = {}
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        template = payload("pull_request/opened")["repository"]
        self.json = {
            **template,
            "id": self.id,
            "name": name,
            "full_name": f"{owner}/{name}",
            "owner": {**template["owner"], "login": owner, "id": next(fake.ids)},
            "html_url": f"https://github.com/{owner}/{name}",
        }

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def add_pull(
        self,
        number: int,
        author: str,
        at: datetime,
        requested: tuple[str, ...] = (),
        teams: tuple[str, ...] = (),
        title: str | None = None,
    ) -> dict[str, Any]:
        pr = copy.deepcopy(payload("pull_request/opened")["pull_request"])
        api = f"{self.fake.base_url}/repos/{self.full_name}"
        pr.update(
            id=next(self.fake.ids),
            number=number,
            title=title or f"Change number {number}",
            url=f"{api}/pulls/{number}",
            html_url=f"https://github.com/{self.full_name}/pull/{number}",
            user=self.fake.user(author),
            created_at=stamp(at),
            updated_at=stamp(at),
            requested_reviewers=[self.fake.user(login) for login in requested],
            requested_teams=[self.fake.team(slug) for slug in teams],
        )
        pr["base"] = {**pr["base"], "repo": self.json}
        self.pulls[number] = pr
        self.reviews[number] = []
        return pr

    def touch(self, number: int, at: datetime) -> dict[str, Any]:
        pr = self.pulls[number]
        pr["updated_at"] = stamp(at)
        return pr

    def add_review(self, number: int, login: str, state: str, at: datetime) -> dict[str, Any]:
        """A submitted review; GitHub moves the pull request's `updated_at` with it."""
        review = copy.deepcopy(payload("pull_request_review/submitted")["review"])
        review.update(
            id=next(self.fake.ids),
            user=self.fake.user(login),
            state=state.upper(),
            submitted_at=stamp(at),
            html_url=f"https://github.com/{self.full_name}/pull/{number}#pullrequestreview",
            pull_request_url=f"{self.fake.base_url}/repos/{self.full_name}/pulls/{number}",
        )
        self.reviews[number].append(review)
        # A review answers the request, as on GitHub.
        pr = self.touch(number, at)
        pr["requested_reviewers"] = [u for u in pr["requested_reviewers"] if u["login"] != login]
        return review

    def remove_request(self, number: int, login: str, at: datetime) -> None:
        pr = self.touch(number, at)
        pr["requested_reviewers"] = [u for u in pr["requested_reviewers"] if u["login"] != login]

    def close(self, number: int, at: datetime, merged: bool = False) -> None:
        pr = self.touch(number, at)
        pr.update(state="closed", closed_at=stamp(at), merged_at=stamp(at) if merged else None)

    def open_pulls(self) -> list[dict[str, Any]]:
        found = [pr for pr in self.pulls.values() if pr["state"] == "open"]
        found.sort(key=lambda pr: (pr["updated_at"], pr["number"]), reverse=True)
        return [{k: v for k, v in pr.items() if k not in LIST_ONLY_OMITS} for pr in found]

    def pull_detail(self, number: int) -> dict[str, Any]:
        pr = copy.deepcopy(self.pulls[number])
        pr["merged"] = pr["merged_at"] is not None
        return pr


class FakeGitHub:
    """GitHub's REST API for the pollers, with the state a test sets up and changes."""

    def __init__(
        self,
        public_key: Any,
        clock: Callable[[], datetime],
        base_url: str = BASE_URL,
        app_id: str = APP_ID,
        personal_token: str | None = None,
    ) -> None:
        self.public_key = public_key
        self.clock = clock
        self.base_url = base_url
        self.app_id = app_id
        self.personal_token = personal_token
        self.ids = itertools.count(5_000_000)
        self.repos: dict[str, Repo] = {}
        # Old "owner/name" (lower case) of renamed or transferred repositories.
        self.moved: dict[str, Repo] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, tuple[int, datetime]] = {}
        self.token_lifetime = timedelta(hours=1)
        self.rate_limit = 5000
        self.remaining: dict[str, int] = {}
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self._token_ids = itertools.count(1)
        self.uninstalled: set[int] = set()
        # Called before each answer; a test may move its clock there ("slow GitHub").
        self.before_answer: Callable[[], None] | None = None

    # -- state ---------------------------------------------------------------------------

    def user(self, login: str) -> dict[str, Any]:
        if login not in self.users:
            template = payload("pull_request/opened")["sender"]
            self.users[login] = {**template, "login": login, "id": next(self.ids)}
        return copy.deepcopy(self.users[login])

    def team(self, slug: str) -> dict[str, Any]:
        return {"id": next(self.ids), "slug": slug, "name": slug.title(), "privacy": "closed"}

    def add_repo(self, owner: str, name: str, installation_id: int | None = 1) -> Repo:
        repo = Repo(self, owner, name, installation_id)
        self.repos[repo.full_name.lower()] = repo
        return repo

    def uninstall(self, installation_id: int) -> None:
        """The App is removed from an installation: its repositories and tokens go."""
        self.uninstalled.add(installation_id)
        for repo in self.repos.values():
            if repo.installation_id == installation_id:
                repo.installation_id = None

    def move(self, repo: Repo, owner: str, name: str) -> None:
        """Rename or transfer a repository: its old owner/name answers 301, as GitHub's."""
        del self.repos[repo.full_name.lower()]
        self.moved[repo.full_name.lower()] = repo
        repo.owner, repo.name = owner, name
        repo.json.update(
            name=name,
            full_name=repo.full_name,
            owner={**repo.json["owner"], "login": owner},
            html_url=f"https://github.com/{repo.full_name}",
        )
        self.repos[repo.full_name.lower()] = repo

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 502,
        headers: dict[str, str] | None = None,
        exception: type[Exception] | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` matching requests fail with `status` (or raise `exception`)."""
        for _ in range(times):
            self.faults.append(
                Fault(method, re.compile(path_regex), status, headers or {}, exception)
            )

    # -- what was asked ------------------------------------------------------------------

    def calls_to(self, path_regex: str) -> list[Call]:
        pattern = re.compile(path_regex)
        return [c for c in self.calls if pattern.search(c.path)]

    def reset_calls(self) -> None:
        self.calls.clear()

    # -- the HTTP side -------------------------------------------------------------------

    def mount(self, router: respx.MockRouter) -> None:
        host = urlsplit(self.base_url)
        router.route(host=host.hostname).mock(side_effect=self.handle)

    def _rate_headers(self, credential: str, charge: bool) -> dict[str, str]:
        left = self.remaining.setdefault(credential, self.rate_limit)
        if charge:
            left = self.remaining[credential] = left - 1
        reset = int((self.clock() + timedelta(hours=1)).timestamp())
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(max(left, 0)),
            "x-ratelimit-reset": str(reset),
        }

    def _credential(self, request: httpx.Request) -> tuple[str, int | None] | None:
        """(credential name, installation id or None) of a valid Authorization header."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            try:
                claims = jwt.decode(value, self.public_key, algorithms=["RS256"])
            except jwt.PyJWTError:
                return None
            return ("app", None) if str(claims.get("iss")) == self.app_id else None
        if scheme.lower() == "token":
            if self.personal_token is not None and value == self.personal_token:
                return "token", None
            known = self.tokens.get(value)
            if known is not None and known[1] > self.clock() and known[0] not in self.uninstalled:
                return f"installation:{known[0]}", known[0]
        return None

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path[len(urlsplit(self.base_url).path) :]
        query = {k: v[-1] for k, v in parse_qs(request.url.query.decode()).items()}
        if self.before_answer is not None:
            self.before_answer()
        for fault in list(self.faults):
            if fault.method == request.method and fault.pattern.search(path):
                self.faults.remove(fault)
                self.calls.append(Call(request.method, path, query, fault.status, "-", False))
                if fault.exception is not None:
                    raise fault.exception("injected", request=request)
                return httpx.Response(fault.status, headers=fault.headers, json={"message": "x"})
        response = self._answer(request, path, query)
        self.calls.append(
            Call(
                request.method,
                path,
                query,
                response.status_code,
                request.headers.get("authorization", ""),
                "if-none-match" in request.headers,
            )
        )
        return response

    def _answer(self, request: httpx.Request, path: str, query: dict[str, str]) -> httpx.Response:
        credential = self._credential(request)
        if credential is None:
            return httpx.Response(401, json={"message": "Bad credentials"})
        name, installation_id = credential
        m = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if m and request.method == "POST" and name == "app":
            if int(m.group(1)) in self.uninstalled:
                return httpx.Response(404, json={"message": "Not Found"})
            token = f"ghs_fake{next(self._token_ids):04d}"
            expires = self.clock() + self.token_lifetime
            self.tokens[token] = (int(m.group(1)), expires)
            body = {"token": token, "expires_at": stamp(expires), "permissions": {}}
            return httpx.Response(201, json=body, headers=self._rate_headers(name, True))
        m = re.fullmatch(r"/repositories/(\d+)", path)
        if m and request.method == "GET":
            repo = next((r for r in self.repos.values() if r.id == int(m.group(1))), None)
            if repo is None or installation_id not in (None, repo.installation_id):
                return httpx.Response(404, json={"message": "Not Found"})
            return self._json(request, name, repo.json)
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if not m or request.method != "GET":
            return httpx.Response(404, json={"message": "Not Found"})
        repo = self.repos.get(f"{m.group(1)}/{m.group(2)}".lower())
        rest = m.group(3) or ""
        moved = self.moved.get(f"{m.group(1)}/{m.group(2)}".lower())
        if repo is None and moved is not None:
            url = f"{self.base_url}/repositories/{moved.id}{rest}"
            body = {"message": "Moved Permanently", "url": url}
            return httpx.Response(301, headers={"location": url}, json=body)
        if rest == "/installation" and name == "app":
            if repo is None or repo.installation_id is None:
                return httpx.Response(404, json={"message": "Not Found"})
            return self._json(request, name, {"id": repo.installation_id, "app_id": 1})
        if repo is None or (
            installation_id is not None and installation_id != repo.installation_id
        ):
            return httpx.Response(404, json={"message": "Not Found"})
        if rest == "/pulls" and query.get("state") == "open":
            return self._page(request, name, path, query, repo.open_pulls())
        m = re.fullmatch(r"/pulls/(\d+)(/reviews)?", rest)
        if m and int(m.group(1)) in repo.pulls:
            number = int(m.group(1))
            if m.group(2):
                return self._page(request, name, path, query, repo.reviews[number])
            return self._json(request, name, repo.pull_detail(number))
        return httpx.Response(404, json={"message": "Not Found"})

    def _json(
        self,
        request: httpx.Request,
        credential: str,
        data: Any,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        body = json.dumps(data).encode()
        etag = f'W/"{hashlib.sha1(body).hexdigest()}"'  # noqa: S324 - an ETag, not security
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(
                304, headers={"etag": etag, **self._rate_headers(credential, False)}
            )
        return httpx.Response(
            200,
            content=body,
            headers={
                "content-type": "application/json; charset=utf-8",
                "etag": etag,
                **(headers or {}),
                **self._rate_headers(credential, True),
            },
        )

    def _page(
        self,
        request: httpx.Request,
        credential: str,
        path: str,
        query: dict[str, str],
        items: list[dict[str, Any]],
    ) -> httpx.Response:
        per_page = int(query.get("per_page", 30))
        page = int(query.get("page", 1))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(number: int) -> str:
            return f"{self.base_url}{path}?{urlencode({**query, 'page': number})}"

        links = []
        if page < last:
            links += [f'<{link(page + 1)}>; rel="next"', f'<{link(last)}>; rel="last"']
        if page > 1:
            links += [f'<{link(1)}>; rel="first"', f'<{link(page - 1)}>; rel="prev"']
        headers = {"link": ", ".join(links)} if links else {}
        return self._json(request, credential, chunk, headers)
