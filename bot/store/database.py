"""The connection to the database: `databases` with a query counter and dict rows.

It also moves the data version after every committed change the read API shows
(bot/store/data_version.py): every write path goes through here, so none is missed.

Statements run on the connection `databases` holds for the task (its pool, its
transactions, its lock), but each SQLAlchemy statement is compiled once per shape and
rows are read without `databases`' records: see `Statements`. Compiling the same statement at
every call, and running the result processors again at each `record[key]`, were
half the time of a list answer (`make bench`, tests/bench/profile_routes.py).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from typing import Any, NamedTuple, TypeVar

import databases
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql import ClauseElement, TextClause
from sqlalchemy.sql.elements import _anonymous_label

from bot.store import data_version
from bot.store.coalesce import Coalesced
from bot.store.sqlite_pool import ReusingSQLitePool
from bot.store.version_feed import VersionFeed

Query = ClauseElement | str
Q = TypeVar("Q", bound=ClauseElement)

log = logging.getLogger(__name__)


def as_dict(row: Any) -> dict[str, Any]:
    """A row as a plain dict, with column types applied on every backend.

    `row._mapping` on asyncpg holds the raw values; indexing the row applies the
    result processors (our JSON and UTC types), so we index key by key, taking the
    names from the record's column map, which both backends fill.
    """
    return {key: row[key] for key in row._column_map}


class _Writes:
    """What the outermost transaction wrote: whether the data version must move."""

    __slots__ = ("shown",)

    def __init__(self) -> None:
        self.shown = False


Processor = Callable[[Any], Any] | None


class Prepared(NamedTuple):
    """A statement compiled for the driver: its SQL, how to order its parameters and how
    to read its rows."""

    compiled: Any  # sqlalchemy Compiled, kept to build each call's parameters
    sql: str
    names: tuple[str, ...]  # bind names in the driver's positional order
    binds: tuple[Processor, ...]
    keys: tuple[str, ...]  # result column keys
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column, processor) that apply
    reads: bool  # a SELECT: no INSERT, UPDATE or DELETE


class Fixed(NamedTuple):
    """A statement built once: its own values (literals, `None` where each call gives
    one) and the parameters each call must give. Merging a call's values into them is
    what `construct_params` does, without walking the statement's parameters again."""

    values: dict[str, Any]
    required: frozenset[str]

    @classmethod
    def of_compiled(cls, compiled: Any) -> Fixed | None:
        """None where the merge would not do: a value computed per call, or a bind
        parameter named apart from its key."""
        binds = compiled.binds
        if any(
            b.callable is not None or (b.key != name and not isinstance(b.key, _anonymous_label))
            for name, b in binds.items()
        ):
            return None
        required = frozenset(name for name, b in binds.items() if b.required)
        return cls(compiled.construct_params(_check=False), required)

    def of(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        if not params:
            if self.required:
                raise KeyError(f"a value is required for {sorted(self.required)}")
            return self.values
        if not self.required <= params.keys():
            raise KeyError(f"a value is required for {sorted(self.required - params.keys())}")
        return {**self.values, **params}


_BUILT_ONCE = "_reviewer_built_once"


def built_once(query: Q) -> Q:
    """Mark a statement that is built once and kept (its values all bind parameters, given
    at each call): it is compiled once per database even where SQLAlchemy gives it no cache
    key (a multi-row INSERT), keyed by the object itself."""
    setattr(query, _BUILT_ONCE, True)
    return query


class Statements:
    """Compiled statements by their SQLAlchemy cache key (its shape, not its values).

    The key is SQLAlchemy's own (what its engine's compiled cache uses); the values of a
    call are taken from the statement at hand with `construct_params`. A statement with
    an IN list expanded at execution (`render_postcompile`) is compiled at each call:
    its SQL depends on the length of the list.
    """

    MAX_ENTRIES = 1000

    def __init__(self, dialect: Dialect, numbered: bool) -> None:
        self.dialect = dialect
        self.numbered = numbered  # asyncpg's $1, $2 (else qmark, in positiontup order)
        self._cache: dict[Any, Prepared] = {}
        # id -> (the statement, kept alive so that its id is not reused, (compiled, its
        # own values)
        self._built_once: dict[int, tuple[ClauseElement, tuple[Prepared, Fixed | None]]] = {}

    def prepare(
        self, query: ClauseElement, values: Mapping[str, Any] | None = None
    ) -> tuple[Prepared, list[Any]]:
        """The statement compiled for the driver, and this call's positional arguments
        (the statement's own values, then `values` for its unvalued bind parameters)."""
        params = dict(values) if values else None
        if getattr(query, _BUILT_ONCE, False):
            kept = self._built_once.get(id(query))
            if kept is None or kept[0] is not query:
                compiled = query.compile(dialect=self.dialect)
                if compiled.post_compile_params:
                    # Its SQL would depend on the length of each call's list.
                    raise ValueError("a statement built once cannot hold an IN list")
                prepared = self._prepared(compiled)
                kept = (query, (prepared, Fixed.of_compiled(prepared.compiled)))
                self._built_once[id(query)] = kept
            prepared, fixed = kept[1]
            if fixed is None:
                return prepared, self._arguments(
                    prepared, prepared.compiled.construct_params(params)
                )
            return prepared, self._arguments(prepared, fixed.of(params))
        cache_key = query._generate_cache_key()
        if cache_key is not None:
            hit = self._cache.get(cache_key.key)
            if hit is not None:
                return hit, self._arguments(
                    hit,
                    hit.compiled.construct_params(
                        params=params, extracted_parameters=cache_key.bindparams
                    ),
                )
        compiled = query.compile(
            dialect=self.dialect,
            cache_key=cache_key,
            # An IN list is rendered one parameter per item (as `databases` does) ...
            compile_kwargs={"render_postcompile": True},
        )
        prepared = self._prepared(compiled)
        if compiled.post_compile_params or compiled.literal_execute_params:
            # ... so that SQL depends on the list's length: it is for this call only.
            return prepared, self._arguments(
                prepared, compiled.construct_params(params=params) if params else compiled.params
            )
        if cache_key is not None:
            if len(self._cache) >= self.MAX_ENTRIES:
                self._cache.clear()  # statements built from data would otherwise pile up
            self._cache[cache_key.key] = prepared
        return prepared, self._arguments(prepared, compiled.construct_params(params=params))

    def _prepared(self, compiled: Any) -> Prepared:
        if self.numbered:
            names = tuple(sorted(compiled.params))
            sql = compiled.string % {name: f"${i}" for i, name in enumerate(names, start=1)}
        else:
            names = tuple(compiled.positiontup or ())
            sql = compiled.string
        processors = compiled._bind_processors
        columns = compiled._result_columns or []
        results = tuple(
            (i, processor)
            for i, column in enumerate(columns)
            if (processor := column[3]._cached_result_processor(self.dialect, None)) is not None
        )
        return Prepared(
            compiled,
            sql,
            names,
            tuple(processors.get(name) for name in names),
            tuple(column[0] for column in columns),
            results,
            not (compiled.isinsert or compiled.isupdate or compiled.isdelete),
        )

    @staticmethod
    def _arguments(prepared: Prepared, params: Mapping[str, Any]) -> list[Any]:
        return [
            params[name] if bind is None else bind(params[name])
            for name, bind in zip(prepared.names, prepared.binds, strict=True)
        ]

    @staticmethod
    def rows(prepared: Prepared, rows: Sequence[Any]) -> list[dict[str, Any]]:
        keys = prepared.keys
        if not prepared.results:
            return [dict(zip(keys, row, strict=True)) for row in rows]
        out = []
        for row in rows:
            values = list(row)
            for i, processor in prepared.results:
                values[i] = processor(values[i])
            out.append(dict(zip(keys, values, strict=True)))
        return out


class _Hold:
    """A pooled connection one task holds, whose statements go straight to it: a
    transaction's (`databases`' connection of the task, for the whole of it) or a read
    request's (`_ReadHold`)."""

    __slots__ = ("given_back", "lock", "raw", "reads_only", "task")

    def __init__(self, raw: Any = None, lock: asyncio.Lock | None = None) -> None:
        # A task started inside inherits the variable, not the connection.
        self.task = asyncio.current_task()
        self.raw = raw
        self.lock = lock  # `databases`' lock on its connection, if the hold is its
        self.given_back = False
        self.reads_only = True

    @classmethod
    def of(cls, lent: Any) -> _Hold:
        """The hold of `databases`' connection, already entered."""
        return cls(lent.raw_connection, lent._query_lock)


class _ReadHold(_Hold):
    """A read request's connection, straight from asyncpg's pool: taken at its first
    statement, given back as soon as its answer starts (`Database.reading`)."""

    __slots__ = ("pool",)

    def __init__(self, pool: Any) -> None:
        super().__init__()
        self.pool = pool
        # Only SELECTs of ours ran on it: nothing of the session to reset (`_reset`).
        self.reads_only = True

    async def take(self) -> None:
        self.raw = await self.pool.acquire()

    async def give_back(self) -> None:
        """Give the connection back to the pool; never fails.

        The statements were over and their answer made: a connection that broke since
        (the server restarted, asyncpg's reset on release failed) is asyncpg's to close
        and replace, not a reason to fail an answer already on its way.
        """
        raw, self.raw = self.raw, None
        self.given_back = True
        if raw is None:
            return
        marked = _READS_ONLY.set(raw._con if self.reads_only else None)
        try:
            await self.pool.release(raw)
        except Exception as exc:  # asyncpg terminated it; the pool opens another
            log.warning(
                "a read connection broke before it went back to the pool: %s",
                type(exc).__name__,
                extra={"error": str(exc)},
            )
        finally:
            _READS_ONLY.reset(marked)


class _Reading:
    """`Database.reading()`: a class, not a generator, as it is entered at every read."""

    __slots__ = ("held", "hold", "token")

    def __init__(self, held: contextvars.ContextVar[_Hold | None], hold: _ReadHold) -> None:
        self.held, self.hold = held, hold

    async def __aenter__(self) -> None:
        self.token = self.held.set(self.hold)

    async def __aexit__(self, *exc_info: object) -> None:
        self.held.reset(self.token)
        await self.hold.give_back()


_NOTHING_HELD = nullcontext()


# The connection going back to the pool in this task after SELECTs alone, if any.
_READS_ONLY: contextvars.ContextVar[Any] = contextvars.ContextVar("reads_only", default=None)


async def _reset(connection: Any) -> None:
    """What asyncpg's pool does to a connection given back (after it rolls back an open
    transaction), unless a read request ran only SELECTs on it.

    asyncpg's reset is a query of its own (advisory locks released, cursors closed,
    LISTENs and settings undone): a third round trip to the server for a pull request's
    two SELECTs, about a tenth of the answer's time. Plain SELECTs leave none of that
    behind; anything else (a transaction, a write, text SQL) is reset as asyncpg would.
    """
    if _READS_ONLY.get() is connection:
        return
    query = connection.get_reset_query()
    if query:
        await connection.execute(query)


class Database:
    """One database for the whole process; counts the statements it runs."""

    def __init__(self, url: str, disconnect_timeout: float = 10.0, **options: Any) -> None:
        self.url = url
        self.disconnect_timeout = disconnect_timeout
        self.backend = "postgresql" if url.startswith("postgresql") else "sqlite"
        if self.backend == "postgresql":
            options.setdefault("min_size", 1)
            options.setdefault("max_size", 10)
            options.setdefault("reset", _reset)
        self._db = databases.Database(url, **options)
        self._sqlite_pool: ReusingSQLitePool | None = None
        if self.backend == "sqlite":
            backend = self._db._backend  # type: ignore[attr-defined]
            backend._pool = self._sqlite_pool = ReusingSQLitePool(backend._pool)
        # SQLite answers "database is locked" at once, without waiting, when two
        # transactions that both read go on to write; they take turns here instead.
        self._turns = asyncio.Lock() if self.backend == "sqlite" else None
        self._in_transaction = contextvars.ContextVar(f"in_transaction_{id(self)}", default=False)
        # The outermost transaction of this task, if any (inner ones are part of it).
        self._writes: contextvars.ContextVar[_Writes | None] = contextvars.ContextVar(
            f"writes_{id(self)}", default=None
        )
        # Owed from the start (a process may have died between a commit and its bump) and
        # after a bump that failed once its commit was done: paid before the next read.
        self._bump_owed = True
        self._bumps = Coalesced()
        self._background: set[asyncio.Task] = set()
        # The connection this task holds (a read request's, a transaction's), if any.
        self._held: contextvars.ContextVar[_Hold | None] = contextvars.ContextVar(
            f"held_{id(self)}", default=None
        )
        # Read by the query-count tests and the benchmarks; cheap enough to keep always.
        # Moves of the data version are counted apart, in `bumps`: they follow writes.
        self.query_count = 0
        self.bumps = 0
        # Reads of the data version that ran a statement (none on PostgreSQL while its
        # feed listens); counted apart from the routes' own statements.
        self.version_reads = 0
        self.feed = VersionFeed(self._dsn(url)) if self.backend == "postgresql" else None
        self.statements = Statements(
            self._db._backend._dialect,  # type: ignore[attr-defined]
            numbered=self.backend == "postgresql",
        )

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgresql"

    @property
    def is_connected(self) -> bool:
        return self._db.is_connected

    @staticmethod
    def _dsn(url: str) -> str:
        """The URL as asyncpg takes it (no SQLAlchemy driver name)."""
        scheme, _, rest = url.partition("://")
        return f"postgresql://{rest}" if scheme.startswith("postgres") else url

    async def connect(self) -> None:
        await self._db.connect()
        if self.feed is not None:
            await self.feed.start()

    async def disconnect(self) -> None:
        """Close the connections; a pool that will not drain in time is cut off.

        After the server dropped a connection mid-transaction `databases` can leave it
        checked out of asyncpg's pool, whose graceful close would then wait forever (a
        shutdown that never ends); cancelled, asyncpg terminates the pool instead.
        """
        if self.feed is not None:
            await self.feed.stop()
        if self._sqlite_pool is not None:
            await self._sqlite_pool.close_idle()
        try:
            await asyncio.wait_for(self._db.disconnect(), self.disconnect_timeout)
        except TimeoutError:
            log.warning(
                "database connections not returned in time; closed them",
                extra={"seconds": self.disconnect_timeout},
            )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """`async with db.transaction():`: everything inside commits or nothing does."""
        if self.is_postgres:
            async with self._postgres_transaction():
                yield
            return
        if self._writes.get() is not None:  # inside another: part of it
            async with self._transaction():
                yield
            return
        writes = _Writes()
        outermost = self._writes.set(writes)
        try:
            async with self._turn(), self._transaction():
                yield
                if writes.shown:
                    # SQLite: last statement of the transaction, committed with the change.
                    await self._bump()
        finally:
            self._writes.reset(outermost)

    @asynccontextmanager
    async def _postgres_transaction(self) -> AsyncIterator[None]:
        """asyncpg's transaction on the task's pooled connection, which the statements
        inside use straight (as a read request's do); an inner one is a savepoint.

        `databases`' own transactions cost as much again as the statements of a webhook
        delivery (its connection bookkeeping at each statement, BEGIN and COMMIT
        compiled); `databases` still lends the connection and takes it back. The
        connection is kept past COMMIT so that the bump runs on it: a second trip to the
        pool would cost as much as the bump itself.
        """
        outer = self._writes.get()
        writes = outer or _Writes()
        outermost = self._writes.set(writes) if outer is None else None
        if outer is None:
            await self._leave_read_hold()
        try:
            async with self._db.connection() as connection:
                raw, lock = connection.raw_connection, connection._query_lock
                held = self._held.set(_Hold.of(connection))
                try:
                    transaction = raw.transaction()
                    async with lock:
                        await transaction.start()
                    try:
                        yield
                    except BaseException:
                        await self._roll_back(transaction, lock)
                        raise
                    async with lock:
                        await transaction.commit()
                finally:
                    if outermost is not None and writes.shown:
                        # After COMMIT (or a COMMIT whose outcome is unknown: a spare bump
                        # costs one full answer, a missing one would serve stale 304s).
                        await self._bump_after_commit()
                    self._held.reset(held)
        finally:
            if outermost is not None:
                self._writes.reset(outermost)

    @staticmethod
    async def _roll_back(transaction: Any, lock: asyncio.Lock) -> None:
        """Roll back; a connection too broken to is dropped by the pool, and the error
        that got us here is the one to tell."""
        try:
            async with lock:
                await transaction.rollback()
        except Exception as exc:
            log.warning("could not roll back", extra={"error": type(exc).__name__})

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """SQLite's turn for a transaction; nothing to wait for on PostgreSQL."""
        if self._turns is None or self._in_transaction.get():
            yield
            return
        async with self._turns:
            entered = self._in_transaction.set(True)
            try:
                yield
            finally:
                self._in_transaction.reset(entered)

    async def _bump(self) -> None:
        self.bumps += 1
        hold = await self._holding()
        if hold is not None:  # the transaction's connection, kept past its COMMIT
            value = await self._on(hold, "val", data_version.bump_sql(True), [])
        else:
            value = await self._db.execute(data_version.bump_sql(self.is_postgres))
        if self.feed is not None:
            self.feed.note(int(value))

    async def _bump_after_commit(self) -> None:
        """Move the version after a commit; if that fails or is cancelled, it is owed.

        Commits at once share their bumps (bot/store/coalesce.py): each returns once a
        bump begun after its commit has ended, never before.
        """
        try:
            await self._bumps(self._bump)
        except asyncio.CancelledError:
            self._owe_bump("cancelled")
            raise
        except Exception as exc:
            self._owe_bump(type(exc).__name__)

    def _owe_bump(self, why: str) -> None:
        """Paid before this process's next version read, and tried at once in the
        background, so that other processes' readers do not wait for that."""
        self._bump_owed = True
        log.warning("could not move the data version after a commit", extra={"error": why})
        task = asyncio.get_running_loop().create_task(self._pay_owed_bump())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _pay_owed_bump(self) -> None:
        try:
            await self.bump_version()
        except Exception:  # the database is away: the next version read tries again
            return

    async def bump_version(self) -> None:
        """Move the version now: at start-up, since a process may have died between a
        commit and its bump (and new code or settings may show the same rows otherwise)."""
        if self._turns is not None and not self._in_transaction.get():
            async with self._turns:
                await self._bump()
        else:
            await self._bump()
        self._bump_owed = False

    async def data_version(self) -> int:
        """The current data version: read it BEFORE the rows an answer shows."""
        if self._bump_owed:
            await self.bump_version()
        if self.feed is not None and self.feed.value is not None:
            return self.feed.value
        self.version_reads += 1
        return int(await self._db.fetch_val(data_version.read_sql(self.is_postgres)))

    def _note(self, query: Query) -> bool:
        """Note a statement that writes a shown table. True when it commits on its own
        (outside a transaction): the version must then move right after it."""
        if not data_version.shows_change(query):
            return False
        writes = self._writes.get()
        if writes is not None:
            writes.shown = True
            return False
        return True

    async def _moved_alone(self) -> None:
        """After a statement that committed on its own (or failed to: a spare bump)."""
        if self._turns is not None:
            await self.bump_version()
        else:
            await self._bump_after_commit()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        """One `databases` transaction, giving back any connection it kept."""
        connection = self._db.connection()
        depth = connection._connection_counter
        try:
            async with self._db.transaction():
                yield
        finally:
            # `databases` (0.9) takes a connection from the pool before BEGIN and keeps it
            # when BEGIN fails or is cancelled (a job stopped at shutdown, a dropped
            # connection): give it back, or the pool loses it and its close at shutdown
            # waits for it for ever.
            for _ in range(connection._connection_counter - depth):
                await connection.__aexit__()

    def connection(self) -> Any:
        return self._db.connection()

    async def _run(
        self, how: str, query: Query, values: Mapping[str, Any] | None
    ) -> tuple[Prepared, Any] | None:
        """Run a statement on the task's connection; None for text, left to `databases`.

        `how`: all (the rows), one (the first row or None), execute (what `databases`
        answers: the first value on PostgreSQL, lastrowid or rowcount on SQLite).
        """
        if isinstance(query, str | TextClause):  # rare; their columns are not declared
            await self._leave_read_hold()  # `databases` runs it on a connection of its own
            return None
        prepared, args = self.statements.prepare(query, values)
        hold = await self._holding()
        if hold is not None:  # a read request's or transaction's connection: straight to it
            if not prepared.reads:
                hold.reads_only = False
            return prepared, await self._on(hold, how, prepared.sql, args)
        async with self._db.connection() as connection, connection._query_lock:
            raw = connection.raw_connection
            if self.backend == "postgresql":
                return prepared, await self._postgres(raw, how, prepared.sql, args)
            async with raw.execute(prepared.sql, args) as cursor:
                if how == "all":
                    return prepared, await cursor.fetchall()
                if how == "one":
                    return prepared, await cursor.fetchone()
                return prepared, cursor.rowcount if cursor.lastrowid == 0 else cursor.lastrowid

    @staticmethod
    async def _postgres(raw: Any, how: str, sql: str, args: list[Any]) -> Any:
        if how == "all":
            return await raw.fetch(sql, *args)
        if how == "one":
            return await raw.fetchrow(sql, *args)
        return await raw.fetchval(sql, *args)

    @classmethod
    async def _on(cls, hold: _Hold, how: str, sql: str, args: list[Any]) -> Any:
        try:
            if hold.lock is None:  # a read request's: its task alone uses it
                return await cls._postgres(hold.raw, how, sql, args)
            async with hold.lock:
                return await cls._postgres(hold.raw, how, sql, args)
        except BaseException:
            # Failed or cancelled half-way: reset as asyncpg would, whatever it was.
            hold.reads_only = False
            raise

    async def _leave_read_hold(self) -> None:
        """Before a transaction or text SQL in a read request: give its connection back,
        so that the task holds one connection at a time (ten requests each holding one
        and waiting for a second would wait for ever); later statements take one each."""
        hold = self._held.get()
        if isinstance(hold, _ReadHold) and hold.task is asyncio.current_task():
            await hold.give_back()

    async def _holding(self) -> _Hold | None:
        """The connection this task holds, taken now if it is a read request's first
        statement; None when the task holds none (or gave it back)."""
        hold = self._held.get()
        if hold is None or hold.task is not asyncio.current_task():
            return None
        if hold.raw is None:
            if hold.given_back:
                return None
            await hold.take()  # type: ignore[attr-defined]  (only a read hold is not taken)
        return hold

    def reading(self) -> AbstractAsyncContextManager[None]:
        """One pooled connection for the statements of a read request, on PostgreSQL.

        Taken at the request's first statement and given back when its answer starts
        (`done_reading`), not for the whole request: sixteen requests at once share
        ten connections, and one held while its answer was made, sent and logged kept
        the others waiting for the pool (a pull request's details at 16 connections
        went from 0.65 to 0.8 of the ceiling, which holds one for its statements alone).
        Statements go to it without `databases`' per-statement bookkeeping, which was a
        tenth of a details answer's time, and it comes from asyncpg's pool without
        `databases`' connection of the task (another tenth). A transaction or text SQL
        inside gives it back first (`_leave_read_hold`). On SQLite, nothing to hold.
        """
        if not self.is_postgres:
            return _NOTHING_HELD
        return _Reading(self._held, _ReadHold(self._db._backend._pool))  # type: ignore[attr-defined]

    async def done_reading(self) -> None:
        """The read request's statements are over: its connection goes back to the pool.
        Any statement after (a background task's) takes one the usual way."""
        hold = self._held.get()
        if isinstance(hold, _ReadHold) and hold.task is asyncio.current_task():
            await hold.give_back()

    # Each runs its statement between `_note` and, when it committed alone, a move of
    # the version (try/finally: cheaper than a context manager per statement).

    async def fetch_all(self, query: Query, values: Mapping[str, Any] | None = None) -> list[dict]:
        self.query_count += 1
        alone = self._note(query)
        try:
            done = await self._run("all", query, values)
            if done is None:
                return [as_dict(r) for r in await self._db.fetch_all(query, values)]
            return Statements.rows(*done)
        finally:
            if alone:
                await self._moved_alone()

    async def fetch_one(self, query: Query, values: Mapping[str, Any] | None = None) -> dict | None:
        self.query_count += 1
        alone = self._note(query)
        try:
            done = await self._run("one", query, values)
            if done is None:
                row = await self._db.fetch_one(query, values)
                return None if row is None else as_dict(row)
        finally:
            if alone:
                await self._moved_alone()
        prepared, row = done
        return None if row is None else Statements.rows(prepared, [row])[0]

    async def fetch_val(self, query: Query, values: Mapping[str, Any] | None = None) -> Any:
        self.query_count += 1
        alone = self._note(query)
        try:
            done = await self._run("one", query, values)
            if done is None:
                return await self._db.fetch_val(query, values)
        finally:
            if alone:
                await self._moved_alone()
        prepared, row = done
        if row is None:
            return None
        value = row[0]
        for i, processor in prepared.results:
            if i == 0:
                value = processor(value)
        return value

    async def execute(self, query: Query, values: Mapping[str, Any] | None = None) -> Any:
        self.query_count += 1
        alone = self._note(query)
        try:
            done = await self._run("execute", query, values)
            if done is None:
                return await self._db.execute(query, values)
            return done[1]
        finally:
            if alone:
                await self._moved_alone()

    async def execute_many(self, query: Query, values: list[Mapping[str, Any]]) -> None:
        self.query_count += 1
        alone = self._note(query)
        try:
            await self._db.execute_many(query, values)
        finally:
            if alone:
                await self._moved_alone()
