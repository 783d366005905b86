"""The dashboard page in a real headless Chromium, against the service on uvicorn.

One browser and one seeded service for the module (SQLite: the routes the page reads
are tested on both backends elsewhere). Without Debian's `chromium` these tests are
skipped, saying so; under CI=true they fail instead (.ci/run installs it).

`UPDATE_SCREENSHOTS=1` writes the README's screenshot, docs/dashboard.png.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.app import create_app
from bot.settings import load_settings
from bot.store.database import Database
from tests.browser import Browser, Page, chromium, chromium_path
from tests.conftest import WEBHOOK_SECRET
from tests.dashboard_seed import NOW, XSS_TITLE, seed_team
from tests.github_events import OCTOCAT, PullRequest, pull_request_event
from tests.loopback import serving
from tests.webhook_client import deliver

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "dashboard.png"

if chromium_path() is None:
    message = (
        "chromium is not installed: the dashboard's page tests need it (apt-get install chromium)"
    )
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)


class ConditionalReads:
    """The contract's conditional reads and signed-out 401s, in front of the app.

    Stands in for what the access work adds to the service (an ETag on every
    `GET /v1/…`, 304 for `If-None-Match`, 401 without a session) so the page's side of
    that contract is tested here: it sends the tag back, keeps its view on a 304 and
    offers to sign in on a 401. It records what crossed the wire.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.signed_out = False
        self.seen: list[tuple[str, str | None, int]] = []  # path, If-None-Match, status

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        asked = Headers(scope=scope).get("if-none-match")
        if self.signed_out:
            await self.answer(send, 401, [(b"content-type", b"application/json")], b"{}")
            self.seen.append((scope["path"], asked, 401))
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body = b"".join(chunks)
        tag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
        headers.append((b"etag", tag.encode()))
        status = 304 if start["status"] == 200 and asked == tag else start["status"]
        self.seen.append((scope["path"], asked, status))
        await self.answer(send, status, headers, b"" if status == 304 else body)

    @staticmethod
    async def answer(send: Send, status: int, headers: list, body: bytes) -> None:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def start_service(
    template: Path, directory: Path, seed: Callable[[Database], Awaitable[Any]] | None
) -> Any:
    """A migrated SQLite copy, seeded, served with the app's whole lifespan."""
    path = directory / "reviewer.db"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    if seed is not None:

        async def seeded() -> None:
            db = Database(url)
            await db.connect()
            try:
                async with db.transaction():
                    await seed(db)
            finally:
                await db.disconnect()

        asyncio.run(seeded())
    env = {
        "DATABASE_URL": url,
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SCHEDULER": "off",
        "REMINDER_MIN_IDLE_HOURS": "4",
    }
    app = create_app(load_settings(env, env_file=directory / "none.env"))
    app.state.clock = lambda: NOW
    return ConditionalReads(app)


@pytest.fixture(scope="module")
def wire(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> ConditionalReads:
    return start_service(sqlite_template, tmp_path_factory.mktemp("team"), seed_team)


@pytest.fixture(scope="module")
def service(wire: ConditionalReads) -> Iterator[str]:
    with serving(wire, lifespan="on") as base:
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with chromium(tmp_path_factory.mktemp("chromium")) as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    tab = browser.new_page(1280, 900)
    yield tab
    tab.close()


def open_dashboard(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for("document.body.dataset.state === 'ready'")


def groups(page: Page) -> dict[str, dict[str, Any]]:
    """Each group of the queue: whether it is highlighted, and its rows."""
    script = """JSON.stringify(Object.fromEntries([...document.querySelectorAll('[data-group]')]
        .map(g => [g.dataset.group, {
            idle: g.classList.contains('has-idle'),
            rows: [...g.querySelectorAll('.entry')].map(e => ({
                title: e.querySelector('.title').textContent,
                wait: e.querySelector('.wait time').textContent,
                idle: e.classList.contains('idle'),
                link: e.querySelector('.title a') ? e.querySelector('.title a').href : null,
            })),
        }])))"""
    return json.loads(page.evaluate(script))


def texts(page: Page, selector: str) -> list[str]:
    return page.evaluate(
        f"[...document.querySelectorAll({json.dumps(selector)})]"
        ".map(e => e.innerText.replace(/\\s+/g, ' ').trim())"
    )


def test_the_dashboard_shows_who_idles_time_to_review_and_releases(
    page: Page, service: str, tmp_path: Path
) -> None:
    open_dashboard(page, f"{service}/")
    shown = groups(page)
    assert list(shown)[:2] == ["person:bob", "team:mobile-core"]  # the most idle first
    bob = shown["person:bob"]
    assert bob["idle"] is True
    assert [(r["title"], r["wait"], r["idle"]) for r in bob["rows"]] == [
        ("Retry webhook deliveries GitHub never saw", "23 h", True),
        (XSS_TITLE, "9 h", True),
        ("Dark mode for the settings page", "1 h", False),
    ]
    # Ann's only request is on a draft: listed, not highlighted.
    assert shown["person:ann"]["idle"] is False
    assert shown["nobody"]["rows"][0]["title"] == "Bump the test runner to 4.2"
    # Titles are text: the seeded <script> never became an element, and a javascript:
    # URL is not a link.
    assert page.evaluate("document.querySelectorAll('main script').length") == 0
    footer = shown["person:eve"]["rows"][0]
    assert (footer["title"], footer["link"]) == ("Fix the footer", None)
    assert bob["rows"][0]["link"] == "https://github.com/acme/api/pull/101"

    assert texts(page, "#stats tbody tr") == [
        "acme/api 6 2.5 h 6 h",
        "acme/mobile 2 10 h 15 h",
        "acme/web 5 14 h 22 h",
    ]
    assert texts(page, "#pending-releases .release strong") == ["api v2.14.0"]
    assert texts(page, "#pending-releases .approvers li") == [
        "Ann approved",
        "Bob waiting",
        "Release managers waiting",
    ]
    assert [row.split(" ")[:3] for row in texts(page, "#decided-releases tbody tr")] == [
        ["web", "3.2.1", "acme/web"],
        ["mobile", "1.9.0", "acme/mobile"],
    ]
    assert page.evaluate("document.getElementById('welcome').hidden") is True

    target = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path / "dashboard.png"
    png = page.screenshot(target)
    assert png.startswith(b"\x89PNG")

    # On a phone: one column, nothing wider than the screen.
    page.resize(390, 800, mobile=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_filters_narrow_the_view_live_in_the_url_and_work_from_the_keyboard(
    page: Page, service: str
) -> None:
    open_dashboard(page, f"{service}/?project=acme/web")
    assert page.evaluate("document.getElementById('project').value") == "acme/web"
    rows = [r["title"] for g in groups(page).values() for r in g["rows"]]
    assert sorted(set(rows)) == [
        "Bump the test runner to 4.2",
        "Dark mode for the settings page",
        "Fix the footer",
    ]
    assert texts(page, "#stats tbody tr") == ["acme/web 5 14 h 22 h"]
    assert texts(page, "#pending-releases p") == ["No release is waiting for approval."]

    # The keyboard reaches the filters first, in order, then the people in the queue.
    focused = []
    for _ in range(4):
        page.press("Tab")
        focused.append(
            page.evaluate("document.activeElement.id || document.activeElement.textContent")
        )
    assert focused[:3] == ["project", "person", "clear"]
    page.evaluate("document.querySelector('[data-key=\"person:bob\"]').focus()")
    page.press("Enter")
    page.wait_for("location.search.includes('person=bob')")
    assert page.evaluate("location.search") == "?project=acme%2Fweb&person=bob"
    assert list(groups(page)) == ["person:bob"]
    assert page.evaluate("document.getElementById('person').value") == "bob"

    page.evaluate("history.back()")
    page.wait_for("document.getElementById('person').value === ''")
    assert "person:dan" in groups(page)

    page.evaluate("document.getElementById('clear').focus()")
    page.press("Enter")
    page.wait_for("location.search === ''")
    assert "person:ann" in groups(page)  # acme/api's again


def test_polling_shows_a_webhooks_change_without_a_reload(
    page: Page, service: str, wire: ConditionalReads
) -> None:
    open_dashboard(page, f"{service}/?poll=1")
    page.evaluate("window.sameDocument = true")
    # Unchanged answers come back 304 and the view stays as it was.
    wire.seen.clear()
    page.wait_for("Number(document.body.dataset.polls) >= 3")
    unchanged = [(path, status) for path, asked, status in wire.seen if asked]
    assert ("/v1/queue", 304) in unchanged
    assert all(status == 304 for _, status in unchanged)
    assert "person:bob" in groups(page)
    polls = int(page.evaluate("document.body.dataset.polls"))
    opened = PullRequest(
        github_id=9_000_001,
        number=77,
        updated_at=NOW,
        title="Add a changelog",
        reviewers=(OCTOCAT,),
    )
    with httpx.Client(base_url=service) as client:
        answer = deliver(client, "pull_request", pull_request_event("opened", opened))
    assert answer.status_code == 200, answer.text

    page.wait_for("document.querySelector('[data-group=\"person:octocat\"]') !== null")
    octocat = groups(page)["person:octocat"]
    assert [(r["title"], r["wait"]) for r in octocat["rows"]] == [("Add a changelog", "0 min")]
    assert page.evaluate("window.sameDocument") is True  # no reload
    assert int(page.evaluate("document.body.dataset.polls")) > polls


def test_a_fresh_install_says_how_to_install_the_app(
    page: Page, sqlite_template: Path, tmp_path: Path
) -> None:
    with serving(start_service(sqlite_template, tmp_path, seed=None), lifespan="on") as empty:
        open_dashboard(page, f"{empty}/")
        assert page.evaluate("document.getElementById('welcome').hidden") is False
        links = page.evaluate(
            "[...document.querySelectorAll('#welcome a')].map(a => a.getAttribute('href'))"
        )
        assert "/setup" in links
        assert any("#creating-and-installing-the-github-app" in link for link in links)
        assert texts(page, "#queue p") == ["No open pull request: nothing waits for review."]


def test_signed_out_the_page_offers_to_sign_in(
    page: Page, service: str, wire: ConditionalReads
) -> None:
    wire.signed_out = True
    try:
        page.goto(f"{service}/?project=acme/web")
        page.wait_for("document.body.dataset.state === 'signin'")
    finally:
        wire.signed_out = False
    assert page.evaluate("document.getElementById('signin').hidden") is False
    assert page.evaluate("document.getElementById('queue-section').hidden") is True
    href = page.evaluate("document.getElementById('signin-link').getAttribute('href')")
    assert href == "/login?next=%2F%3Fproject%3Dacme%2Fweb"
