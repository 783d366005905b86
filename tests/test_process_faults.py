"""Faults of the process: `reviewer serve` killed with SIGKILL while signed deliveries
stream in, then brought back, the lost ones redelivered through `reviewer redeliver`
against a fake GitHub served over HTTP: each delivery applied exactly once, none half.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
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
from tests.conftest import WEBHOOK_SECRET
from tests.factories import at
from tests.fake_github import APP_ID, Clock, FakeGitHub
from tests.github_app import app_key, sender
from tests.github_events import PullRequest, github_user, review_event
from tests.loopback import free_port, serving
from tests.processes import run_reviewer, start_reviewer
from tests.test_serve import DEADLINE_SECONDS, Output

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
