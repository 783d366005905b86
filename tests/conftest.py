"""Fixtures: every database test runs on SQLite and on PostgreSQL.

REVIEWER_TEST_BACKENDS limits the backends (e.g. `sqlite` for a quick run).
TEST_POSTGRES_URL names the server (a database is created there per session).
Under CI=true an unreachable PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot.app import create_app
from bot.settings import Settings, load_settings
from bot.store.migrate import migrate
from bot.store.tables import ALL_TABLES
from tests.fake_slack import FakeSlack, FakeSlackServer

BACKENDS = [
    b.strip() for b in os.environ.get("REVIEWER_TEST_BACKENDS", "sqlite,postgresql").split(",")
]
POSTGRES_SERVER = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
API_TOKEN = "test-api-token"
WEBHOOK_SECRET = "test-webhook-secret"


def _server_url(database: str) -> str:
    base, _, _ = POSTGRES_SERVER.rpartition("/")
    return f"{base}/{database}"


async def _pg_admin(sql: str, database: str = "postgres") -> None:
    import asyncpg

    conn = await asyncpg.connect(_server_url(database), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"reviewer_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, Exception) as exc:
        message = f"PostgreSQL at {POSTGRES_SERVER} is not reachable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    url = _server_url(name)
    migrate(url)
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _truncate_sql() -> str:
    names = ", ".join(t.name for t in ALL_TABLES)
    return f"TRUNCATE {names} RESTART IDENTITY CASCADE"


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "reviewer.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    asyncio.run(_pg_admin(_truncate_sql(), url.rpartition("/")[2]))
    return url


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings as the service reads them, from a clean environment plus overrides."""

    def make(**overrides: str) -> Settings:
        env = {
            "DATABASE_URL": database_url,
            "API_TOKENS": API_TOKEN,
            "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SCHEDULER": "off",
            "PUBLIC_URL": "http://reviewer.test",
        }
        env.update(overrides)
        env = {k: v for k, v in env.items() if v is not None}
        return load_settings(env, env_file=tmp_path / "no.env")

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def run(client: TestClient) -> Callable[..., Any]:
    """Call an async function on the app's own event loop: `run(fn, *args, **kwargs)`."""

    def call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        assert client.portal is not None
        return client.portal.call(functools.partial(func, *args, **kwargs))

    return call


@pytest.fixture
def db(client: TestClient) -> Any:
    """The app's Database; use it through `run`."""
    return client.app.state.db  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def fake_slack_server() -> Iterator[FakeSlackServer]:
    server = FakeSlackServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_slack(fake_slack_server: FakeSlackServer) -> FakeSlack:
    """The fake Slack Web API, emptied for this test; `make_settings(**fake_slack.env())`."""
    fake_slack_server.fake.reset()
    return fake_slack_server.fake
