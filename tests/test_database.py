"""The Database wrapper's transactions on both backends."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa

from bot.store.database import Database, built_once
from bot.store.tables import users
from tests.factories import add_user


def test_a_transaction_inside_a_transaction_is_part_of_it(run, db) -> None:
    user = run(add_user, db, "ann")

    async def nested_then_fail() -> None:
        async with db.transaction():
            await db.execute(users.update().where(users.c.id == user).values(username="bob"))
            async with db.transaction():  # on SQLite the same turn, not a wait on itself
                await db.execute(users.update().where(users.c.id == user).values(username="cy"))
            raise RuntimeError("after the inner transaction")

    with pytest.raises(RuntimeError):
        run(nested_then_fail)
    assert run(db.fetch_val, sa.select(users.c.username).where(users.c.id == user)) == "ann"


def test_transactions_that_read_then_write_at_once_all_commit(run, db) -> None:
    """SQLite refuses the second of two such transactions at once ("database is locked")."""
    user = run(add_user, db, "ann")
    name = sa.select(users.c.username).where(users.c.id == user)

    async def append(suffix: str) -> None:
        async with db.transaction():
            current = await db.fetch_val(name)
            await asyncio.sleep(0)  # let the others read too
            await db.execute(
                users.update().where(users.c.id == user).values(username=current + suffix)
            )

    async def all_at_once() -> None:
        await asyncio.gather(*(append(str(i)) for i in range(6)))

    run(all_at_once)
    if not db.is_postgres:  # PostgreSQL's READ COMMITTED may lose updates; SQLite's turns do not
        assert sorted(run(db.fetch_val, name)[3:]) == sorted("012345")


def test_disconnect_ends_though_a_connection_was_never_returned(database_url) -> None:
    """As `databases` may leave one after PostgreSQL dropped it mid-transaction."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no pool to drain")

    async def connections() -> int:
        import asyncpg

        admin = await asyncpg.connect(database_url)
        try:
            return await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()

    async def leak_then_disconnect() -> tuple[int, int]:
        db = Database(database_url, disconnect_timeout=0.5)
        await db.connect()
        leaked = db.connection()
        await leaked.__aenter__()  # checked out of the pool, never released
        await leaked.fetch_val(sa.text("SELECT 1"))
        before = await connections()
        await asyncio.wait_for(db.disconnect(), 60)  # before the fix: waits for ever
        for _ in range(100):  # the server notices closed sockets a moment later
            after = await connections()
            if after == 0:
                break
            await asyncio.sleep(0.05)
        return before, after

    before, after = asyncio.run(leak_then_disconnect())
    assert before >= 1
    assert after == 0


def test_a_statement_compiled_once_takes_each_calls_values(run, db) -> None:
    """The compiled form is kept by shape: each call's own values, types and rows apply."""
    ids = [run(add_user, db, name, metadata={"n": n}) for n, name in enumerate(("ann", "bob"))]
    for user_id, name, n in zip(ids, ("ann", "bob"), range(2), strict=True):
        row = run(db.fetch_one, users.select().where(users.c.id == user_id))
        assert (row["username"], row["metadata"]) == (name, {"n": n})  # JSON decoded
        assert row["created_at"].tzinfo is not None  # UTC applied
    by_name = sa.select(users.c.id).where(users.c.username == sa.bindparam("name"))
    assert run(db.fetch_val, by_name, {"name": "bob"}) == ids[1]
    assert run(db.fetch_val, by_name, {"name": "ann"}) == ids[0]
    assert run(db.fetch_val, by_name, {"name": "cy"}) is None
    # IN lists of other lengths are other SQL: compiled for their call.
    for wanted in ([ids[0]], ids, []):
        rows = run(db.fetch_all, users.select().where(users.c.id.in_(wanted)).order_by(users.c.id))
        assert [r["id"] for r in rows] == wanted
    assert db.query_count >= 9


def test_a_statement_built_once_keeps_its_own_values_and_wants_the_rest(run, db) -> None:
    """Its literals are taken once and merged with each call's values; a value it needs
    and is not given is an error, as SQLAlchemy's own merge says, not a NULL."""
    ids = [run(add_user, db, name) for name in ("ann", "bob", "cy")]
    named = built_once(
        sa.select(users.c.id).where(
            users.c.username != "cy",  # a literal, bound once
            users.c.username != sa.bindparam("name", type_=sa.Text),
            users.c.id > sa.bindparam("after", type_=sa.Integer),
        )
    )
    assert run(db.fetch_all, named, {"name": "ann", "after": 0}) == [{"id": ids[1]}]
    assert run(db.fetch_all, named, {"name": "cy", "after": ids[0]}) == [{"id": ids[1]}]
    with pytest.raises(KeyError, match="after"):
        run(db.fetch_all, named, {"name": "ann"})
    # An IN list's SQL depends on its length: not a shape to build once.
    listed = built_once(sa.select(users.c.id).where(users.c.username.in_(["ann", "bob"])))
    with pytest.raises(ValueError, match="IN list"):
        run(db.fetch_all, listed)


def test_a_task_started_inside_a_transaction_has_a_connection_of_its_own(run, db) -> None:
    """The statements of a transaction go straight to its connection; a task it starts
    inherits the context, not the connection: it sees only what is committed."""
    user = run(add_user, db, "ann")
    name = sa.select(users.c.username).where(users.c.id == user)

    async def look_from_another_task() -> tuple[str, str]:
        async with db.transaction():
            await db.execute(users.update().where(users.c.id == user).values(username="bob"))
            inside = await db.fetch_val(name)
            if db.is_postgres:  # SQLite's writer holds the file: a reader would wait for it
                outside = await asyncio.create_task(db.fetch_val(name))
            else:
                outside = "ann"
        return inside, outside

    assert run(look_from_another_task) == ("bob", "ann")
    assert run(db.fetch_val, name) == "bob"


def test_commits_at_once_share_their_bumps_of_the_data_version(run, db) -> None:
    """Each returns after a bump begun after its commit (bot/store/coalesce.py), and
    commits at once make fewer bumps than there are commits."""
    if not db.is_postgres:
        pytest.skip("SQLite bumps inside each transaction")
    people = [run(add_user, db, f"user{n}") for n in range(8)]  # no row lock shared

    async def commits() -> tuple[int, list[int], int]:
        before, bumps = await db.data_version(), db.bumps
        ready = asyncio.Barrier(len(people))

        async def write(n: int, user: int) -> int:
            async with db.transaction():
                await db.execute(users.update().where(users.c.id == user).values(username=f"u{n}"))
                await ready.wait()  # all commit at once
            return await db.data_version()

        seen = await asyncio.gather(*(write(n, user) for n, user in enumerate(people)))
        return before, seen, db.bumps - bumps

    before, seen, bumps = run(commits)
    assert all(version > before for version in seen)
    assert 1 <= bumps < len(people)


def test_sqlite_connections_are_kept_for_the_next_statement_but_not_past_a_new_file(
    database_url: str, tmp_path
) -> None:
    """databases opened a connection (a thread and the file) per statement; ours are kept,
    unless the file at the path is no longer the one they opened (a restore, a move)."""
    import shutil

    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's pool is asyncpg's")
    path = tmp_path / "kept.db"
    shutil.copy(database_url.removeprefix("sqlite:///"), path)
    names = sa.select(users.c.username).order_by(users.c.id)

    async def scenario() -> tuple[list[str], list[str], bool, bool]:
        db = Database(f"sqlite:///{path}")
        await db.connect()
        try:
            await add_user(db, "ann")
            threads = set()
            for _ in range(3):
                async with db.connection() as connection:
                    threads.add(connection.raw_connection._thread)
            kept = len(threads) == 1
            backup = tmp_path / "backup.db"
            shutil.copy(path, backup)
            await add_user(db, "bob")
            before = list(await db.fetch_all(names))
            shutil.copy(backup, tmp_path / "restored.db")
            (tmp_path / "restored.db").replace(path)  # a restore: a new file at the path
            after = list(await db.fetch_all(names))
            async with db.connection() as connection:
                renewed = connection.raw_connection._thread not in threads
            return [r["username"] for r in before], [r["username"] for r in after], kept, renewed
        finally:
            await db.disconnect()

    before, after, kept, renewed = asyncio.run(scenario())
    assert kept and renewed
    assert (before, after) == (["ann", "bob"], ["ann"])


def test_a_read_connection_that_broke_as_it_went_back_still_gives_its_answer(
    run, db, caplog: pytest.LogCaptureFixture
) -> None:
    """The server ends a read request's connection as it goes back to the pool (a
    restart, in the middle of asyncpg's reset): the answer, already made, is not failed,
    and the task's next statement takes a fresh connection."""
    if not db.is_postgres:
        pytest.skip("the held read connection is PostgreSQL's")
    user = run(add_user, db, "ann")
    count = sa.select(sa.func.count()).select_from(users)
    pid_now = sa.select(sa.func.pg_backend_pid())

    async def read_then_break() -> tuple[int, int, bool]:
        reading = db.reading()
        await reading.__aenter__()
        try:
            seen = await db.fetch_val(count)
            # A write: asyncpg's reset runs on release (after SELECTs alone it would not).
            await db.execute(users.update().where(users.c.id == user).values(username="bo"))
            pid = await db.fetch_val(pid_now)
            # The server ends the connection in the middle of the reset on release, as
            # a shutting-down server did under load (asyncpg's reset is its own query).
            db._held.get().raw._con._reset_query = "SELECT pg_terminate_backend(pg_backend_pid())"
            await db.done_reading()
        finally:
            await reading.__aexit__(None, None, None)
        again = await db.fetch_val(count)
        return seen, again, await db.fetch_val(pid_now) != pid

    with caplog.at_level("WARNING", logger="bot.store.database"):
        assert run(read_then_break) == (1, 1, True)
    assert "a read connection broke" in caplog.text


def test_a_read_requests_selects_spare_the_pools_reset_and_anything_else_has_it(
    database_url: str,
) -> None:
    """asyncpg's reset query on release is skipped after a read request ran SELECTs alone
    (they leave no session state; `set_config` here is the one way a SELECT could, used
    to see whether the reset ran); a transaction, text SQL or a failed statement has it
    reset as asyncpg would, and so does a statement outside a read request."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the pool and its reset are asyncpg's")
    mark = sa.select(sa.func.set_config("application_name", "marked", False))
    seen = sa.select(sa.func.current_setting("application_name"))

    async def scenario() -> dict[str, str]:
        db = Database(database_url, max_size=1)  # one connection: each read gets the same
        await db.connect()
        user = await add_user(db, "ann")

        async def read(then: Callable[[], Awaitable[Any]] | None = None) -> str:
            async with db.reading():
                before = await db.fetch_val(seen)
                await db.fetch_val(mark)
                if then is not None:
                    await then()
                await db.done_reading()
            return before

        async def write() -> None:
            async with db.transaction():
                await db.execute(users.update().where(users.c.id == user).values(username="bo"))

        async def failing() -> None:
            with contextlib.suppress(asyncpg.DivisionByZeroError):
                await db.fetch_val(sa.select(sa.literal(1) / sa.literal(0)))

        try:
            after = {}
            await read()
            after["selects"] = await read(lambda: db.fetch_val(sa.text("SELECT 1")))
            after["text"] = await read(write)
            after["transaction"] = await read(failing)
            after["failed"] = await read()
            await db.fetch_val(mark)  # no read request: the pool resets as usual
            after["alone"] = await read()
            return after
        finally:
            await db.disconnect()

    # With a pool of one, a transaction or text SQL that took a second connection while
    # the read held the first would wait for ever.
    after = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert after == {
        "selects": "marked",
        "text": "",
        "transaction": "",
        "failed": "",
        "alone": "",
    }
