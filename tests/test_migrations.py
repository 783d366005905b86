"""Migrations: idempotent, concurrent-safe on PostgreSQL, and said aloud by the CLI."""

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store.database import Database
from bot.store.migrate import current_revisions, migrate, pending_revisions
from bot.store.tables import users
from tests.conftest import BACKENDS, _pg_admin, _server_url
from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[1]
REVISIONS = [
    "0001 initial schema",
    "0002 one project per repository, whatever the letter case",
    "0003 the release gate in GitHub's and Azure's own protocols",
    "0004 real-time review-request DMs and escalations, each sent once",
    "0005 redelivery requests asked of GitHub, and the time of a project's repository name",
    "0006 the data version that ETags are made from (bot/store/data_version.py)",
    "0007 indexes for the read routes: open pull requests by id, a user's reviews by state",
    "0008 indexes for a user's details: their open review requests by pull request",
    "0009 reviews by pull request and reviewer, in time order",
]
HEAD = {"0009"}


def run_cli(*args: str, database_url: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def empty_database(tmp_path, request) -> str:
    """An unmigrated database: a new SQLite file, or a new PostgreSQL database."""
    backend = request.param
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"reviewer_mig_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    yield _server_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_migrate_twice_applies_once(empty_database) -> None:
    assert pending_revisions(empty_database) == REVISIONS
    applied = migrate(empty_database)
    assert applied == REVISIONS
    assert migrate(empty_database) == []
    assert pending_revisions(empty_database) == []
    assert current_revisions(empty_database) == HEAD


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
def test_cli_says_what_it_applied(empty_database, tmp_path) -> None:
    first = run_cli("migrate", database_url=empty_database, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [f"applied {rev}" for rev in REVISIONS]
    second = run_cli("migrate", database_url=empty_database, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == ["the database schema is up to date"]


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="PostgreSQL backend not selected")
@pytest.mark.parametrize("empty_database", ["postgresql"], indirect=True)
def test_two_processes_migrating_at_once_on_postgres(empty_database, tmp_path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "DATABASE_URL": empty_database}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "migrate"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], outputs
    said = sorted(out.strip() for out, _ in outputs)
    # Exactly one process applied the schema; the others waited and found it current.
    assert said == [
        "\n".join(f"applied {rev}" for rev in REVISIONS),
        "the database schema is up to date",
        "the database schema is up to date",
    ]
    assert current_revisions(empty_database) == HEAD


def test_json_metadata_round_trips_as_objects(database_url) -> None:
    value = {"slack_id": "U1", "nested": {"list": [1, 2.5, None, "x"], "flag": False}, "é": "ü"}

    async def round_trip() -> tuple[dict, dict]:
        db = Database(database_url)
        await db.connect()
        try:
            await db.execute(
                users.insert().values(
                    github_id=1,
                    username="u",
                    metadata=value,
                    created_at=sa.func.current_timestamp(),
                )
            )
            row = await db.fetch_one(users.select())
            many = await db.fetch_all(users.select())
            return row["metadata"], many[0]["metadata"]
        finally:
            await db.disconnect()

    one, listed = asyncio.run(round_trip())
    assert one == value and listed == value
    assert isinstance(one, dict)


def test_one_off_jobs_migrate_a_new_database_first(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    result = run_cli("remind", "--dry-run", database_url=url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if not line.startswith("{")]
    assert lines[0] == "applied 0001 initial schema"
    assert current_revisions(url) == HEAD


def test_an_unreachable_database_is_one_line_not_a_traceback(tmp_path) -> None:
    closed_port = free_port()  # nothing listens there
    for url in (
        f"sqlite:///{tmp_path / 'no-such-folder' / 'reviewer.db'}",
        f"postgresql://postgres:pg-sekrit@127.0.0.1:{closed_port}/reviewer",
    ):
        result = run_cli("migrate", database_url=url, cwd=tmp_path)
        assert result.returncode == 1
        [line] = result.stderr.strip().splitlines()
        assert line.startswith("reviewer: cannot bring the database schema up to date: "), line
        assert "pg-sekrit" not in result.stderr + result.stdout


def test_one_project_per_repository_whatever_the_case(database_url) -> None:
    """The database itself refuses a second project differing only in letter case."""
    from datetime import UTC, datetime

    from bot.store.tables import projects

    async def insert_twice() -> Exception | None:
        db = Database(database_url)
        await db.connect()
        try:
            row = {"name": "cli", "active": True, "created_at": datetime.now(UTC)}
            await db.execute(projects.insert().values(repo_owner="Docker", repo_name="CLI", **row))
            try:
                await db.execute(
                    projects.insert().values(repo_owner="docker", repo_name="cli", **row)
                )
            except Exception as exc:
                return exc
            return None
        finally:
            await db.disconnect()

    error = asyncio.run(insert_twice())
    assert error is not None
    assert "uq_projects_repo_lower" in str(error)
