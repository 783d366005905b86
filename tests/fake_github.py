"""A stateful GitHub REST API behind respx, built from real payloads.

It serves what the pollers read (open pull requests sorted by `updated`, one pull
request, its reviews, a repository's installation, installation tokens) and what the
redelivery backstop reads (the App's webhook deliveries, paged by `cursor`, and asks
for again) as GitHub does: pages with `Link` headers, ETags honoured with 304 (which
cost no rate limit), `X-RateLimit-*` headers per credential, App JWTs verified with
the App's public key, installation tokens that expire. Faults (5xx, 429, timeouts) can
be queued.
`deliver()` sends a signed webhook through a test's `send` and records the attempt as
GitHub's deliveries list shows it; `flush_redeliveries()` sends the ones asked for again.
`asgi_app()` serves the same fake over real HTTP (for a `reviewer` subprocess).
Also used by `python -m tests.bench`.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import respx

from tests.webhook_client import encode, payload

# GitHub keeps (and redelivers) an App's deliveries for three days.
DELIVERY_WINDOW = timedelta(days=3)
# What a test's `send` does with one delivery: (event, body, guid) -> the HTTP status, 0
# when no answer came (refused connection, timeout).
Send = Callable[[str, bytes, str], int]

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


def status_text(status_code: int) -> str:
    """The `status` GitHub's deliveries list shows beside `status_code`."""
    if 200 <= status_code < 300:
        return "OK"
    return f"Invalid HTTP Response: {status_code}" if status_code else "timed out"


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
class DeploymentReview:
    """A POST to a run's deployment_protection_rule endpoint, as received."""

    repo: str
    run_id: int
    body: dict[str, Any]
    auth: str
    status: int


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

    def __repr__(self) -> str:  # how a shrunk Hypothesis example names it
        return f"Repo({self.full_name!r})"

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

    def edit(self, number: int, title: str, at: datetime) -> None:
        self.touch(number, at)["title"] = title

    def reopen(self, number: int, at: datetime) -> None:
        self.touch(number, at).update(state="open", closed_at=None)

    def request_review(self, number: int, login: str, at: datetime) -> None:
        pr = self.touch(number, at)
        if all(u["login"] != login for u in pr["requested_reviewers"]):
            pr["requested_reviewers"].append(self.fake.user(login))

    def request_team(self, number: int, slug: str, at: datetime) -> dict[str, Any]:
        pr = self.touch(number, at)
        team = self.fake.team(slug)
        if all(t["slug"] != slug for t in pr["requested_teams"]):
            pr["requested_teams"].append(team)
        return team

    def remove_team(self, number: int, slug: str, at: datetime) -> dict[str, Any]:
        pr = self.touch(number, at)
        pr["requested_teams"] = [t for t in pr["requested_teams"] if t["slug"] != slug]
        return self.fake.team(slug)

    def dismiss(self, number: int, review_id: int, at: datetime) -> dict[str, Any]:
        """A dismissed review keeps its submission time; the pull request moves."""
        self.touch(number, at)
        review = next(r for r in self.reviews[number] if r["id"] == review_id)
        review["state"] = "DISMISSED"
        return review

    # -- webhook payloads showing this repository as it is now ---------------------------

    def _event(self, name: str, action: str, sender: str) -> dict[str, Any]:
        data = payload(name)
        data.update(
            action=action,
            repository=self.json,
            installation={"id": self.installation_id, "node_id": "MDIz"},
            sender=self.fake.user(sender),
        )
        return data

    def pull_request_event(
        self, action: str, number: int, sender: str, **extra: Any
    ) -> dict[str, Any]:
        """A `pull_request` delivery showing pull request `number` as it is now."""
        data = self._event("pull_request/opened", action, sender)
        data.update(number=number, pull_request=self.pull_detail(number), **extra)
        return data

    def review_event(self, action: str, number: int, review: dict[str, Any]) -> dict[str, Any]:
        """A `pull_request_review` delivery; its pull request lacks `merged`, as GitHub's."""
        data = self._event("pull_request_review/submitted", action, review["user"]["login"])
        pr = self.pull_detail(number)
        del pr["merged"]
        data.update(pull_request=pr, review=copy.deepcopy(review))
        return data

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
        self.teams: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, tuple[int, datetime]] = {}
        self.token_lifetime = timedelta(hours=1)
        self.rate_limit = 5000
        self.remaining: dict[str, int] = {}
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self._token_ids = itertools.count(1)
        self.uninstalled: set[int] = set()
        # The App's webhook: every attempt (oldest first), each GUID's body, and the
        # attempt ids asked for again and not yet redelivered.
        self.hook_deliveries: list[dict[str, Any]] = []
        self.webhook_bodies: dict[str, tuple[str, bytes]] = {}
        self.redelivery_asks: list[int] = []
        self.queued_redeliveries: list[int] = []
        self._delivery_ids = itertools.count(90_000_001)
        # Served over HTTP (`asgi_app`), requests come from uvicorn's thread: one at a time.
        self.lock = threading.RLock()
        # Reviews of deployments waiting on the App (custom deployment protection rules).
        self.deployment_reviews: list[DeploymentReview] = []
        # Called before each answer; a test may move its clock there ("slow GitHub").
        self.before_answer: Callable[[], None] | None = None

    # -- state ---------------------------------------------------------------------------

    def user(self, login: str) -> dict[str, Any]:
        if login not in self.users:
            template = payload("pull_request/opened")["sender"]
            self.users[login] = {**template, "login": login, "id": next(self.ids)}
        return copy.deepcopy(self.users[login])

    def team(self, slug: str) -> dict[str, Any]:
        if slug not in self.teams:
            self.teams[slug] = {
                "id": next(self.ids),
                "slug": slug,
                "name": slug.title(),
                "privacy": "closed",
            }
        return copy.deepcopy(self.teams[slug])

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
            updated_at=stamp(self.clock()),  # GitHub's moves with a rename
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

    # -- webhook deliveries --------------------------------------------------------------

    def record_attempt(
        self, guid: str, event: str, status_code: int, *, redelivery: bool = False
    ) -> dict[str, Any]:
        """An attempt as `GET /app/hook/deliveries` lists it."""
        data = json.loads(self.webhook_bodies[guid][1])
        repository = data.get("repository") or {}
        installation = data.get("installation") or {}
        item = {
            "id": next(self._delivery_ids),
            "guid": guid,
            "delivered_at": stamp(self.clock()),
            "redelivery": redelivery,
            "duration": 0.05,
            "status": status_text(status_code),
            "status_code": status_code,
            "event": event,
            "action": data.get("action"),
            "installation_id": installation.get("id"),
            "repository_id": repository.get("id"),
            "throttled_at": None,
        }
        with self.lock:
            self.hook_deliveries.append(item)
        return item

    def deliver(
        self, send: Send, event: str, data: dict[str, Any] | bytes, guid: str | None = None
    ) -> int:
        """Send one webhook delivery as GitHub would, and record its attempt; the status."""
        import uuid

        guid = guid or str(uuid.uuid4())
        body = encode(data)
        self.webhook_bodies[guid] = (event, body)
        status = send(event, body, guid)
        self.record_attempt(guid, event, status)
        return status

    def flush_redeliveries(self, send: Send) -> list[tuple[str, int]]:
        """Deliver again what was asked for (GitHub does it a moment after its 202)."""
        done = []
        while self.queued_redeliveries:
            delivery_id = self.queued_redeliveries.pop(0)
            item = next(i for i in self.hook_deliveries if i["id"] == delivery_id)
            guid, event = item["guid"], item["event"]
            status = send(event, self.webhook_bodies[guid][1], guid)
            self.record_attempt(guid, event, status, redelivery=True)
            done.append((guid, status))
        return done

    def _deliveries_page(self, request: httpx.Request, query: dict[str, str]) -> httpx.Response:
        """Newest first; the `Link` header's `next` carries a `cursor`, as GitHub's does."""
        per_page = int(query.get("per_page", 30))
        items = sorted(self.hook_deliveries, key=lambda i: i["id"], reverse=True)
        if "cursor" in query:
            start = int(query["cursor"].removeprefix("v1_"))
            items = [i for i in items if i["id"] <= start]
        chunk, rest = items[:per_page], items[per_page:]
        headers = {}
        if rest:
            cursor = f"v1_{rest[0]['id']}"
            url = f"{self.base_url}/app/hook/deliveries?per_page={per_page}&cursor={cursor}"
            headers["link"] = f'<{url}>; rel="next"'
        return self._json(request, "app", chunk, headers)

    def _ask_redelivery(self, delivery_id: int) -> httpx.Response:
        item = next((i for i in self.hook_deliveries if i["id"] == delivery_id), None)
        if item is None:
            return httpx.Response(404, json={"message": "Not Found"})
        self.redelivery_asks.append(delivery_id)
        delivered = datetime.fromisoformat(item["delivered_at"].replace("Z", "+00:00"))
        if delivered < self.clock() - DELIVERY_WINDOW:
            return httpx.Response(422, json={"message": "Validation Failed"})
        self.queued_redeliveries.append(delivery_id)
        return httpx.Response(202, json={}, headers=self._rate_headers("app", True))

    def asgi_app(self) -> Any:
        """This fake as an ASGI app, to serve on loopback (`tests.loopback.serving`) for a
        `reviewer` process; set `base_url` to where it is served first."""

        async def app(scope: dict, receive: Any, send: Any) -> None:
            assert scope["type"] == "http"
            body, more = b"", True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
            query = scope["query_string"].decode()
            request = httpx.Request(
                scope["method"],
                f"http://fake{scope['path']}" + (f"?{query}" if query else ""),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
                content=body,
            )
            with self.lock:
                response = self.handle(request)
            headers = [(k.encode(), v.encode()) for k, v in response.headers.items()]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": headers}
            )
            await send({"type": "http.response.body", "body": response.content})

        return app

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
        if path == "/app/hook/deliveries" and request.method == "GET" and name == "app":
            return self._deliveries_page(request, query)
        m = re.fullmatch(r"/app/hook/deliveries/(\d+)/attempts", path)
        if m and request.method == "POST" and name == "app":
            return self._ask_redelivery(int(m.group(1)))
        m = re.fullmatch(
            r"/repos/([^/]+/[^/]+)/actions/runs/(\d+)/deployment_protection_rule", path
        )
        if m and request.method == "POST":
            return self._review_deployment(request, name, installation_id, m.group(1), m.group(2))
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

    def _review_deployment(
        self,
        request: httpx.Request,
        credential: str,
        installation_id: int | None,
        full_name: str,
        run_id: str,
    ) -> httpx.Response:
        """GitHub's "review custom deployment protection rules for a workflow run": 204, or
        422 for a bad body, a run already decided, or over 10 status reports."""
        repo = self.repos.get(full_name.lower())
        body = json.loads(request.content or b"null")
        auth = request.headers.get("authorization", "")

        def answer(status: int, message: str = "") -> httpx.Response:
            self.deployment_reviews.append(
                DeploymentReview(full_name, int(run_id), body, auth, status)
            )
            if status == 204:
                return httpx.Response(204, headers=self._rate_headers(credential, True))
            return httpx.Response(status, json={"message": message})

        if repo is None or installation_id is None or installation_id != repo.installation_id:
            return answer(404, "Not Found")
        if not isinstance(body, dict) or not isinstance(body.get("environment_name"), str):
            return answer(422, "environment_name is required")
        if body.get("state") not in (None, "approved", "rejected"):
            return answer(422, "state must be approved or rejected")
        if not isinstance(body.get("comment", ""), str) or len(body.get("comment", "")) > 1024:
            return answer(422, "comment is too long")
        earlier = [
            r.body
            for r in self.deployment_reviews
            if r.status == 204
            and r.run_id == int(run_id)
            and r.body["environment_name"] == body["environment_name"]
        ]
        if any("state" in b for b in earlier):
            return answer(422, "No pending deployment requests to approve or reject")
        if "state" not in body and len(earlier) >= 10:
            return answer(422, "at most 10 status reports")
        return answer(204)

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
