"""Faults of the process.

- `reviewer serve` killed with SIGKILL while signed deliveries stream in, then brought
  back, the lost ones redelivered through `reviewer redeliver` against a fake GitHub
  served over HTTP: each delivery applied exactly once, none half.
- PostgreSQL stopped and started again under load (a private cluster: the shared server
  is never touched): the service answers 503 meanwhile and recovers by itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot.store.database import Database
from bot.store.tables import pull_requests, reviews, webhook_deliveries
from tests.conftest import BACKENDS, WEBHOOK_SECRET
from tests.factories import at
from tests.fake_github import APP_ID, Clock, FakeGitHub
from tests.github_app import app_key, sender
from tests.github_events import PullRequest, github_user, pull_request_event, review_event
from tests.loopback import free_port, serving
from tests.private_postgres import binaries, private_postgres
from tests.processes import run_reviewer, start_reviewer
from tests.test_serve import DEADLINE_SECONDS, Output
from tests.webhook_client import encode

DELIVERIES = 60
# SIGKILL once this many deliveries have been answered: the rest meet a dead server.
KILL_AFTER = 20


@contextmanager
def reviewer_serving(cwd: Path, **settings: str) -> Iterator[tuple[Popen[Any], str]]:
    """`reviewer serve` on a free port until the block ends (killed if still running)."""
    port = free_port()
    process = start_reviewer(
        "serve", "--host", "127.0.0.1", "--port", str(port), cwd=cwd, **settings
    )
    output = Output(process)
    try:
        output.wait_for("Uvicorn running on")
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(DEADLINE_SECONDS)
        # What went wrong in the service, for a failing test's report.
        for line in output.rest():
            if '"level":"error"' in line.replace(" ", ""):
                print(line[-1500:])


def review_delivery(n: int) -> dict:
    """A review of a pull request of its own: the pull request, its author, the reviewer
    and the review are written by one transaction, or none of them."""
    pr = PullRequest(700_000 + n, n, at(1), title=f"Change {n}")
    reviewer = github_user(f"reviewer-{n % 7}", 800_000 + n % 7)
    return review_event("submitted", pr, 900_000 + n, reviewer, "APPROVED", at(2))


async def stored_counts(url: str) -> dict[str, Any]:
    db = Database(url)
    await db.connect()
    try:
        guids = await db.fetch_all(
            sa.select(webhook_deliveries.c.guid, webhook_deliveries.c.outcome)
        )
        count = sa.select(sa.func.count())
        lonely = await db.fetch_val(
            count.select_from(pull_requests).where(
                ~sa.select(reviews.c.id)
                .where(reviews.c.pull_request_id == pull_requests.c.id)
                .exists()
            )
        )
        return {
            "deliveries": {row["guid"]: row["outcome"] for row in guids},
            "pull_requests": await db.fetch_val(count.select_from(pull_requests)),
            "reviews": await db.fetch_val(count.select_from(reviews)),
            "without_review": lonely,
        }
    finally:
        await db.disconnect()


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub(app_key()[1], Clock())
    with serving(fake.asgi_app()) as url:
        fake.base_url = f"{url}/api/v3"
        yield fake


def test_sigkill_mid_stream_then_redelivery_applies_each_delivery_exactly_once(
    database_url: str, tmp_path: Path, fake_github: FakeGitHub
) -> None:
    settings = {
        "DATABASE_URL": database_url,
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GITHUB_APP_ID": APP_ID,
        "GITHUB_PRIVATE_KEY": app_key()[0],
        "GITHUB_API_URL": fake_github.base_url,
        "SCHEDULER": "off",
    }
    answered = threading.Semaphore(0)
    with reviewer_serving(tmp_path, **settings) as (process, url):
        with httpx.Client(base_url=url, timeout=DEADLINE_SECONDS) as http:
            send = sender(http)

            def deliver(n: int) -> int:
                status = fake_github.deliver(send, "pull_request_review", review_delivery(n))
                answered.release()
                return status

            def kill_when_enough_answered() -> None:
                for _ in range(KILL_AFTER):
                    answered.acquire(timeout=DEADLINE_SECONDS)
                os.kill(process.pid, signal.SIGKILL)

            killer = threading.Thread(target=kill_when_enough_answered)
            killer.start()
            with ThreadPoolExecutor(4) as pool:
                statuses = list(pool.map(deliver, range(DELIVERIES)))
            killer.join(DEADLINE_SECONDS)
        assert process.wait(DEADLINE_SECONDS) == -signal.SIGKILL
    assert statuses.count(200) >= KILL_AFTER
    assert set(statuses) <= {200, 0}, statuses
    lost = statuses.count(0)
    assert lost >= DELIVERIES - KILL_AFTER - 4  # at most the ones in flight got through

    before = asyncio.run(stored_counts(database_url))
    # Nothing half-applied by the kill: every pull request came with its review.
    assert before["without_review"] == 0
    assert before["pull_requests"] == before["reviews"] == len(before["deliveries"])
    applied_unanswered = sum(
        1
        for item in fake_github.hook_deliveries
        if item["status_code"] == 0 and item["guid"] in before["deliveries"]
    )

    with reviewer_serving(tmp_path, **settings) as (process, url):
        done = run_reviewer("redeliver", cwd=tmp_path, **settings)
        assert done.returncode == 0, done.stdout + done.stderr
        summary = f"{DELIVERIES} deliveries of {DELIVERIES} GUIDs in the last 72 h: "
        summary += f"{DELIVERIES - lost} answered 2xx, {applied_unanswered} applied here, "
        summary += f"0 asked for before; asked for {lost - applied_unanswered} now"
        assert summary in done.stdout, done.stdout
        with httpx.Client(base_url=url, timeout=DEADLINE_SECONDS) as http:
            redelivered = fake_github.flush_redeliveries(sender(http))
            assert {status for _, status in redelivered} <= {200}
            assert len(redelivered) == lost - applied_unanswered
            listed = http.get("/v1/pull_requests?state=all&per_page=1000").json()
        # Asked again: nothing left to ask for.
        again = run_reviewer("redeliver", cwd=tmp_path, **settings)
        assert "asked for 0 now" in again.stdout, again.stdout

    after = asyncio.run(stored_counts(database_url))
    assert after["deliveries"] == {
        guid: "applied" for guid in {i["guid"] for i in fake_github.hook_deliveries}
    }
    assert after["pull_requests"] == after["reviews"] == DELIVERIES
    assert after["without_review"] == 0
    assert sorted(pr["number"] for pr in listed) == list(range(DELIVERIES))


class Load:
    """Threads that keep posting deliveries and reading while the test breaks things."""

    def __init__(self, url: str, threads: int = 2) -> None:
        self.url = url
        self.answers: list[tuple[str, int, str | None]] = []  # (kind, status, guid)
        self.bodies: dict[str, bytes] = {}
        self._stop = threading.Event()
        self._numbers = iter(range(10**6))
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work) for _ in range(threads)]

    def _record(self, kind: str, status: int, guid: str | None = None) -> None:
        with self._lock:
            self.answers.append((kind, status, guid))

    def _work(self) -> None:
        with httpx.Client(base_url=self.url, timeout=DEADLINE_SECONDS) as http:
            send = sender(http)
            while not self._stop.is_set():
                with self._lock:
                    n = next(self._numbers)
                guid = f"load-{n}"
                pr = PullRequest(600_000 + n, n, at(1), title=f"Load {n}")
                body = encode(pull_request_event("opened", pr))
                self.bodies[guid] = body
                self._record("webhook", send("pull_request", body, guid), guid)
                for path in ("/v1/pull_requests?state=all&per_page=5", "/readyz"):
                    try:
                        status = http.get(path).status_code
                    except httpx.TransportError:
                        status = 0
                    self._record(path.split("?")[0], status)

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(DEADLINE_SECONDS)

    def wait_for(self, kind: str, status: int, after: int = 0) -> int:
        """Wait for an answer of `kind` with `status` past index `after`; its index."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            with self._lock:
                for i, (k, s, _) in enumerate(self.answers[after:], after):
                    if (k, s) == (kind, status):
                        return i
            time.sleep(0.05)
        raise AssertionError(f"no {kind} {status} after {after}: {self.answers[after:][-20:]}")


def test_postgres_restarted_under_load_is_503_then_recovers_by_itself(tmp_path: Path) -> None:
    if "postgresql" not in BACKENDS:
        pytest.skip("REVIEWER_TEST_BACKENDS leaves PostgreSQL out")
    bin_dir = binaries()
    if bin_dir is None:
        message = "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) to run one"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with private_postgres(bin_dir) as cluster:
        asyncio.run(_create_database(cluster.url, "reviewer"))
        url = cluster.url.rpartition("/")[0] + "/reviewer"
        settings = {
            "DATABASE_URL": url,
            "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SCHEDULER": "off",
        }
        with (
            reviewer_serving(tmp_path, **settings) as (process, base),
            httpx.Client(base_url=base, timeout=DEADLINE_SECONDS) as http,
        ):
            with Load(base) as load:
                load.wait_for("webhook", 200)
                cluster.stop("fast")
                down = load.wait_for("/readyz", 503)
                load.wait_for("webhook", 503, down)
                load.wait_for("/v1/pull_requests", 503, down)
                cluster.start()
                # Nobody restarts the service: it finds the database again by itself.
                back = load.wait_for("/readyz", 200, down)
                for kind in ("webhook", "/v1/pull_requests"):
                    load.wait_for(kind, 200, back)
                settled = len(load.answers)
                load.wait_for("webhook", 200, settled)
            assert process.poll() is None
            # Every answer was a success or a 503 (never a 500, never a dropped connection),
            # and once the database answered again everything did.
            assert {status for _, status, _ in load.answers} == {200, 503}
            assert {s for _, s, _ in load.answers[settled:]} == {200}

            # GitHub's redelivery of each failed GUID applies it, once.
            failed = {g for kind, s, g in load.answers if kind == "webhook" and s != 200}
            assert failed
            send = sender(http)
            for guid in sorted(failed):
                assert send("pull_request", load.bodies[guid], guid) == 200
            total = http.get("/v1/pull_requests?state=all&per_page=1").headers["x-total-count"]
        assert int(total) == len({g for kind, _, g in load.answers if kind == "webhook"})


async def _create_database(server_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url, timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
