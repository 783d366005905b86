"""Schemathesis, the property-based tester for OpenAPI, against the service on loopback.

Every default check and every phase (examples, coverage, fuzzing, stateful), on each
backend, with Slack configured (its fake) and a few rows to find: it must find nothing.
What it is told, and why, is in `schemathesis.toml`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import create_app
from bot.releases.tokens import new_token, token_hash
from bot.store import releases
from bot.store.clock import utcnow
from bot.store.database import Database
from tests.conftest import API_TOKEN
from tests.factories import seed_reviewed_pull_requests
from tests.loopback import serving

ROOT = Path(__file__).resolve().parent.parent
ST = Path(sys.executable).with_name("st")


APPROVAL_TOKEN = "schemathesis-approval-token"


async def seed(url: str) -> None:
    """Rows behind the ids schemathesis finds in lists and follows by links, and a
    release with an approver whose token it is given (schemathesis.toml)."""
    db = Database(url)
    await db.connect()
    try:
        await seed_reviewed_pull_requests(db, 3)
        now = utcnow()
        release, _ = await releases.create_release(db, "Devx", "386", "Desafio-CD", now)
        approvers = [
            {"name": name, "email": f"{name.lower()}@example.com", "slack_id": None}
            | {"github_login": None, "token_hash": token_hash(token)}
            | {"expires_at": now + timedelta(hours=72)}
            for name, token in (("Ann", APPROVAL_TOKEN), ("Bob", new_token()))
        ]
        await releases.store_approvers(db, release["id"], approvers, 2, now)
    finally:
        await db.disconnect()


@pytest.fixture
def service(make_settings, fake_slack, database_url: str) -> Iterator[str]:
    asyncio.run(seed(database_url))
    app = create_app(make_settings(**fake_slack.env()))
    with serving(app, lifespan="on") as url:
        yield url


def test_schemathesis_finds_nothing(service: str, tmp_path: Path) -> None:
    command = [
        str(ST if ST.exists() else shutil.which("st")),
        "run",
        f"{service}/docs.json",
        "--report-dir",
        str(tmp_path),
    ]
    # The credentials schemathesis.toml hands to the schemes /docs.json declares.
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "REVIEWER_API_TOKEN": API_TOKEN,
        "REVIEWER_APPROVAL_TOKEN": APPROVAL_TOKEN,
    }
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    # The report from its failures on (the run's summary is at the end).
    report = (
        done.stdout[done.stdout.find("FAILURES") :] if "FAILURES" in done.stdout else done.stdout
    )
    assert done.returncode == 0, report[:40_000] + done.stderr[-5_000:]
