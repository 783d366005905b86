"""The service beside its ceilings, under the same load, on PostgreSQL and SQLite.

In one run, per backend: a database seeded straight through the driver (COPY on
PostgreSQL, executemany on SQLite) with 1,000 pull requests; `reviewer serve` (one
process, as `python -m bot serve`) and the ceiling of `tests/bench/ceiling.py` on
loopback, both on that database; then the same load on each path (wrk, or the
Python load generator), the service's figures, the ceiling's, and their ratio. The
seed grows to 100,000 pull requests and the reads are measured again; the p50 at
each size is printed. Last, on PostgreSQL, a fresh `reviewer serve` ingests 10,000
new pull requests through its webhook and its RSS is printed.

The machine may be busy with other work: the ratios, measured side by side in the
same minute, are the result; the absolute figures are not.

Settings: BENCH_BACKENDS (postgresql,sqlite), BENCH_SECONDS (3), BENCH_CONNECTIONS (16),
BENCH_LARGE (100000), BENCH_INGEST (10000), BENCH_ROUNDS (2), BENCH_LOADER (wrk|python),
BENCH_POSTGRES_URL (postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.store import data_version
from bot.store.migrate import migrate
from tests.bench import load
from tests.bench.load import Delivery, Figures, Loader
from tests.github_events import HUBOT, OCTOCAT, PullRequest, pull_request_event, review_event
from tests.loopback import free_port
from tests.processes import environment, reviewer_command

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-webhook-secret"
SMALL = 1000
LARGE = int(os.environ.get("BENCH_LARGE", "100000"))
INGEST = int(os.environ.get("BENCH_INGEST", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
BACKENDS = os.environ.get("BENCH_BACKENDS", "postgresql,sqlite").split(",")
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
USERS = 100  # users 1..100; user 1 approves every tenth pull request
WATCHED = 1
AUTHOR_OF_REVIEWED = 2


# --- databases and seeding ---------------------------------------------------------------


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A new, migrated database of that backend; dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            migrate(url)
            yield url
        return
    import asyncpg

    name = f"reviewer_bench_{os.getpid()}"
    base = POSTGRES.rpartition("/")[0]

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE DATABASE {name}"))
    try:
        url = f"{base}/{name}"
        migrate(url)
        yield url
    finally:
        asyncio.run(admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def seed_rows(start: int, stop: int) -> dict[str, list[tuple[Any, ...]]]:
    """Pull requests start..stop-1 (two thirds open), one review and one request each.

    User 1 approves every tenth one, so their history grows with the seed.
    """
    prs, reviews, requests = [], [], []
    for i in range(start, stop):
        at = T0 + timedelta(seconds=i)
        author = 2 + i % (USERS - 1)
        prs.append(
            (i + 1, 10_000_000 + i, 1, author, i + 1, f"Change {i}",
             f"https://github.com/acme/app/pull/{i + 1}", "open" if i % 3 else "closed",
             False, False, '["bug"]', at, at, None if i % 3 else at, None)
        )  # fmt: skip
        reviewer = WATCHED if i % 10 == 0 else 2 + (i + 1) % (USERS - 1)
        state = "APPROVED" if i % 2 == 0 else "COMMENTED"
        reviews.append((i + 1, 20_000_000 + i, i + 1, reviewer, state, at + timedelta(minutes=1)))
        requests.append((i + 1, i + 1, 2 + (i + 2) % (USERS - 1), at + timedelta(minutes=2)))
    return {"pull_requests": prs, "reviews": reviews, "review_requests": requests}


PR_COLUMNS = (
    "id", "github_id", "project_id", "user_id", "number", "title", "url", "state", "draft",
    "merged", "labels", "created_at", "updated_at", "closed_at", "merged_at",
)  # fmt: skip
COLUMNS = {
    "pull_requests": PR_COLUMNS,
    "reviews": ("id", "github_id", "pull_request_id", "user_id", "state", "submitted_at"),
    "review_requests": ("id", "pull_request_id", "user_id", "requested_at"),
}


def people() -> dict[str, list[tuple[Any, ...]]]:
    return {
        "projects": [(1, "acme app", "acme", "app", 1, 1, True, True, T0)],
        "users": [(u, 1_000_000 + u, f"dev{u}", "{}", T0) for u in range(1, USERS + 1)],
    }


BASE_COLUMNS = {
    "projects": (
        "id", "name", "repo_owner", "repo_name", "github_id", "installation_id", "installed",
        "active", "created_at",
    ),
    "users": ("id", "github_id", "username", "metadata", "created_at"),
}  # fmt: skip


def seed(url: str, start: int, stop: int) -> None:
    """Rows start..stop-1 straight through the driver; ids past what the tables hold."""
    tables = seed_rows(start, stop)
    if start == 0:
        tables = {**people(), **tables}
    columns = {**BASE_COLUMNS, **COLUMNS}
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split(":///", 1)[1]) as conn:
            offsets = {t: _max_id(conn, t) for t in COLUMNS}
            for table, rows in tables.items():
                marks = ", ".join("?" * len(columns[table]))
                conn.executemany(
                    f"INSERT INTO {table} ({', '.join(columns[table])}) VALUES ({marks})",  # noqa: S608
                    [_lite(_shift(table, row, offsets, start)) for row in rows],
                )
            conn.execute(data_version.bump_sql(False))  # as any write the API shows
        return

    async def copy() -> None:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            async with conn.transaction():
                offsets = {
                    t: await conn.fetchval(f"SELECT coalesce(max(id), 0) FROM {t}")  # noqa: S608
                    for t in COLUMNS
                }
                for table, rows in tables.items():
                    await conn.copy_records_to_table(
                        table,
                        records=[_shift(table, row, offsets, start) for row in rows],
                        columns=columns[table],
                    )
                for table in columns:
                    await conn.execute(
                        f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"  # noqa: S608
                    )
            # After the commit, as the service's own writes do (and announced to it).
            await conn.execute(data_version.bump_sql(True))
            await conn.execute("ANALYZE")
        finally:
            await conn.close()

    asyncio.run(copy())


def _max_id(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]  # noqa: S608


def _shift(
    table: str, row: tuple[Any, ...], offsets: dict[str, int], start: int
) -> tuple[Any, ...]:
    """A seeded row with its ids moved past the rows already there (webhooks add some)."""
    if table not in offsets:
        return row
    pr = offsets["pull_requests"] - start
    own = offsets[table] - start
    if table == "pull_requests":
        return (row[0] + own, *row[1:])
    if table == "reviews":
        return (row[0] + own, row[1], row[2] + pr, *row[3:])
    return (row[0] + own, row[1] + pr, *row[2:])


def _lite(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Values as the service stores them on SQLite (naive UTC text for times)."""
    return tuple(
        v.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(v, datetime)
        else v
        for v in row
    )


def delivered(url: str) -> int:
    """How many deliveries the database holds."""
    sql = "SELECT count(*) FROM webhook_deliveries"
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split(":///", 1)[1]) as conn:
            return conn.execute(sql).fetchone()[0]

    async def count() -> int:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return asyncio.run(count())


def settle(url: str) -> None:
    """Wait until the requests a load left in flight are done (no new delivery for 1 s)."""
    last = -1
    while (now := delivered(url)) != last:
        last = now
        time.sleep(1)


def grow(url: str, size: int) -> None:
    seed(url, _SEEDED.get("size", 0), size)
    _SEEDED["size"] = size


_SEEDED: dict[str, int] = {}


# --- webhook bodies ----------------------------------------------------------------------


def sign(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def deliveries(count: int, first_id: int, reviews: bool = True) -> Iterator[Delivery]:
    """`pull_request` (then `pull_request_review`) deliveries, each about a new pull request."""
    for k in range(count):
        at = T0 + timedelta(days=30, seconds=k)
        pr = PullRequest(
            github_id=first_id + k, number=first_id + k, updated_at=at, reviewers=(OCTOCAT,)
        )
        for event, data in (
            ("pull_request", pull_request_event("synchronize", pr)),
            *(
                [("pull_request_review", review_event("submitted", pr, first_id + k, HUBOT,
                                                      "approved", at))]
                if reviews
                else []
            ),
        ):  # fmt: skip
            body = json.dumps(data).encode()
            yield Delivery(event, sign(body), body)


# --- processes ---------------------------------------------------------------------------


class Process:
    """A server process on loopback, waited for until /healthz answers."""

    def __init__(self, command: list[str], env: dict[str, str], port: int) -> None:
        self.port = port
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
                return
            except httpx.HTTPError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.log.seek(0)
                    raise RuntimeError(self.log.read().decode()[-3000:]) from None
                time.sleep(0.1)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def service(url: str) -> Process:
    port = free_port()
    env = environment(
        DATABASE_URL=url,
        SCHEDULER="off",
        GITHUB_WEBHOOK_SECRET=SECRET,
        WEB_CONCURRENCY="1",
        LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "INFO"),
    )
    command = reviewer_command("serve", "--host", "127.0.0.1", "--port", str(port))
    return Process(command, env, port)


def ceiling(url: str) -> Process:
    port = free_port()
    command = [sys.executable, "-m", "tests.bench.ceiling", url, str(port), SECRET]
    return Process(command, environment(), port)


# --- the table ---------------------------------------------------------------------------

HEADER = (
    f"   {'backend':10} {'PRs':>7} {'path':34} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"
    f" {'ceiling/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}"
)


def row(backend: str, size: int, path: str, ours: Figures, top: Figures | None) -> str:
    line = f"   {backend:10} {size:>7} {path:34} {ours.rps:7.0f} {ours.p50:7.1f} {ours.p99:7.1f}"
    if top is not None:
        ratio = f"{ours.rps / top.rps:6.2f}" if top.rps else "   n/a"
        line += f" {top.rps:9.0f} {top.p50:7.1f} {top.p99:7.1f} {ratio}"
    errors = ours.errors + (top.errors if top else 0)
    if errors:
        line += f"  ({errors} errors)"
    return line


def read_paths(ids: dict[str, int]) -> dict[str, str]:
    return {
        "GET /v1/pull_requests?per_page=100": "/v1/pull_requests?per_page=100",
        "GET /v1/pull_requests/{id}?details": f"/v1/pull_requests/{ids['pr']}?details=true",
        "GET /v1/users/{id}?details (watched)": f"/v1/users/{ids['user']}?details=true",
    }


def side_by_side(
    measure: Callable[[Process], Figures],
    ours: Process,
    top: Process,
    between: Callable[[], None] = lambda: None,
) -> tuple[Figures, Figures]:
    """The service and its ceiling in turn, ROUNDS times; the best round of each.

    Taking turns, and the best of them, keeps a burst of other work on a shared
    machine from landing on one side only. A first turn each is not counted: it opens
    the pools' connections and prepares each statement on them, on both sides.
    """
    for process in (ours, top):
        measure(process)
        between()
    mine: list[Figures] = []
    bare: list[Figures] = []
    for _ in range(ROUNDS):
        mine.append(measure(ours))
        between()
        bare.append(measure(top))
        between()
    return max(mine, key=lambda f: f.rps), max(bare, key=lambda f: f.rps)  # fmt: skip


def not_modified(backend: str, ours: Process, loader: Loader, health: Figures) -> None:
    """A conditional GET answered 304, beside the service's own /healthz (its ceiling)."""
    path = "/v1/pull_requests?per_page=100"
    etag = httpx.get(f"http://127.0.0.1:{ours.port}{path}", timeout=30).headers.get("etag")
    if etag is None:
        print(f"   {backend:10} (no ETag on {path} yet: no 304 row)")
        return
    figures = loader.get(ours.port, path, {"If-None-Match": etag})
    print(row(backend, SMALL, "304 list vs the service's /healthz", figures, health))


def measure_reads(
    backend: str, size: int, ours: Process, top: Process, loader: Loader
) -> dict[str, float]:
    p50s = {}
    paths = read_paths({"pr": SMALL // 2, "user": WATCHED})
    for name, path in paths.items():
        mine, bare = side_by_side(lambda p, path=path: loader.get(p.port, path), ours, top)
        print(row(backend, size, name, mine, bare), flush=True)
        p50s[name] = mine.p50
    return p50s


def ingest(url: str, bodies: Iterator[Delivery]) -> tuple[float, float, Figures]:
    """A fresh `reviewer serve` takes `bodies`, 16 at a time: its RSS before and after."""
    served = service(url)
    try:
        before = served.rss_mb()
        requests = (
            load.request_bytes(
                "POST",
                "/github/webhooks",
                {
                    "Content-Type": "application/json",
                    "X-GitHub-Event": d.event,
                    "X-Hub-Signature-256": d.signature,
                    "X-GitHub-Delivery": str(uuid.uuid4()),
                },
                d.body,
            )
            for d in bodies
        )
        figures = asyncio.run(load.drive(served.port, requests, None))
        return before, served.rss_mb(), figures
    finally:
        served.stop()


def bench_backend(backend: str, loader: Loader) -> None:
    _SEEDED.clear()
    with database(backend) as url:
        grow(url, SMALL)
        ours, top = service(url), ceiling(url)
        try:
            health = side_by_side(lambda p: loader.get(p.port, "/healthz"), ours, top)
            print(row(backend, SMALL, "GET /healthz", *health))
            not_modified(backend, ours, loader, health[0])
            small = measure_reads(backend, SMALL, ours, top, loader)
            mine, bare = side_by_side(
                lambda p: loader.webhooks(p.port), ours, top, lambda: settle(url)
            )
            print(row(backend, SMALL, "POST /github/webhooks (PR, review)", mine, bare), flush=True)
            settle(url)
            started = time.perf_counter()
            grow(url, LARGE)
            print(f"   ({backend}: seeded {LARGE} in {time.perf_counter() - started:.1f} s)")
            large = measure_reads(backend, LARGE, ours, top, loader)
        finally:
            ours.stop()
            top.stop()
        for name, p50 in small.items():
            growth = large[name] / p50 if p50 else float("nan")
            print(
                f"   {backend:10} p50 {name:34} {p50:7.1f} ms at {SMALL}, "
                f"{large[name]:7.1f} ms at {LARGE}: x{growth:.2f}"
            )
        if backend == "postgresql" and INGEST:
            bodies = deliveries(INGEST, 50_000_000, reviews=False)
            before, after, figures = ingest(url, bodies)
            print(
                f"   {backend:10} RSS of reviewer serve: {before:.0f} MB at start, {after:.0f} MB"
                f" after ingesting {INGEST} new pull requests by webhook"
                f" ({figures.rps:.0f}/s, {figures.errors} errors)"
            )


def main() -> None:
    bodies = list(deliveries(300, 30_000_000))
    loader = Loader(bodies)
    try:
        print(
            f"   load: {loader.name}, {load.CONNECTIONS} connections, {load.SECONDS:g} s a path;"
            f" one service process; ratio = service req/s / ceiling req/s"
        )
        print(HEADER)
        for backend in BACKENDS:
            bench_backend(backend, loader)
    finally:
        loader.close()


if __name__ == "__main__":
    main()
