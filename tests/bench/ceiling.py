# ruff: noqa: S608  (the statements are ours, the values always parameters)
"""The ceilings of `make bench`: the same work as the service, written bare.

A Starlette app on the raw driver (asyncpg, or sqlite3 through aiosqlite for the
SQLite twin), no SQLAlchemy, no `databases`, rows turned into JSON by hand. It runs
the statements the service runs, with the same transaction semantics:

- `POST /github/webhooks`: check the signature, parse the body, then in one
  transaction claim the delivery GUID (a failed one is claimed again), find or
  create the project, read the people (upserting in one statement those new or
  renamed), the pull request unless
  the stored one is newer, its open review requests, and the review.
- `GET /v1/pull_requests`, `/v1/pull_requests/{id}?details=true`,
  `/v1/users/{id}?details=true`: the service's statements, rows to JSON by hand.
  The list is the service's request without `page`: one more row than the page (is
  there a `next`?) from the start or `after` a cursor, no OFFSET. Its total the
  service counts once per data version and keeps, so between writes (the bench's
  reads) it runs no count: the ceiling skips it, with the `X-Total-Count` and the
  `last` link it would give.
- `GET /healthz`: the framework alone.

Run: `python -m tests.bench.ceiling DATABASE_URL PORT WEBHOOK_SECRET`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PR_COLUMNS = (
    "id, github_id, project_id, user_id, number, title, url, state, draft, merged, labels, "
    "created_at, updated_at, closed_at, merged_at"
)
PR_COLUMNS_OF = ", ".join(f"pull_requests.{c.strip()}" for c in PR_COLUMNS.split(","))
# A user's details: the newest DETAILS_LIMIT of each kind, at or below the highest id.
DETAILS_LIMIT = 100
DETAILS_LAST = 2**31 - 1

LATEST_DECISIVE = """
    SELECT ranked.pull_request_id, ranked.user_id, ranked.state FROM (
        SELECT reviews.pull_request_id, reviews.user_id, reviews.state,
               row_number() OVER (
                   PARTITION BY reviews.pull_request_id, reviews.user_id
                   ORDER BY reviews.submitted_at DESC NULLS LAST, reviews.github_id DESC) AS rank
        FROM reviews
        WHERE reviews.state IN ('APPROVED', 'CHANGES_REQUESTED', 'DISMISSED') AND {where}
    ) AS ranked WHERE ranked.rank = 1
"""
IDLE = """
    SELECT review_requests.pull_request_id, review_requests.user_id, review_requests.requested_at
    FROM review_requests JOIN pull_requests ON pull_requests.id = review_requests.pull_request_id
    WHERE review_requests.user_id IS NOT NULL AND review_requests.removed_at IS NULL
      AND pull_requests.state = 'open'
      AND NOT (EXISTS (SELECT reviews.id FROM reviews
                       WHERE reviews.pull_request_id = review_requests.pull_request_id
                         AND reviews.user_id = review_requests.user_id
                         AND reviews.submitted_at >= review_requests.requested_at))
      AND {where}
"""

SQL = {
    "claim": """
        INSERT INTO webhook_deliveries
            (guid, event, action, received_at, applied_at, outcome, error)
        VALUES (:guid, :event, :action, :now, :now, 'applied', NULL)
        ON CONFLICT (guid) DO UPDATE SET event = excluded.event, action = excluded.action,
            received_at = excluded.received_at, applied_at = excluded.applied_at,
            outcome = excluded.outcome, error = excluded.error
        WHERE webhook_deliveries.outcome = 'failed'
        RETURNING id""",
    "project": """
        SELECT id FROM projects WHERE projects.github_id = :github_id
            OR (lower(projects.repo_owner) = :owner AND lower(projects.repo_name) = :name)""",
    "new_project": """
        INSERT INTO projects (name, repo_owner, repo_name, github_id, installation_id, installed,
                              active, created_at)
        VALUES (:full, :owner, :name, :github_id, :installation, true, true, :now)
        ON CONFLICT DO NOTHING RETURNING id""",
    "pull_request": """
        INSERT INTO pull_requests (github_id, project_id, user_id, number, title, url, state,
            draft, merged, labels, created_at, updated_at, closed_at, merged_at)
        VALUES (:github_id, :project_id, :user_id, :number, :title, :url, :state, :draft,
            :merged, :labels, :created_at, :updated_at, :closed_at, :merged_at)
        ON CONFLICT (github_id) DO UPDATE SET project_id = excluded.project_id,
            user_id = coalesce(excluded.user_id, pull_requests.user_id),
            number = excluded.number, title = excluded.title, url = excluded.url,
            state = excluded.state, draft = excluded.draft, merged = excluded.merged,
            labels = excluded.labels, created_at = excluded.created_at,
            updated_at = excluded.updated_at, closed_at = excluded.closed_at,
            merged_at = excluded.merged_at
        WHERE pull_requests.updated_at <= excluded.updated_at
        RETURNING id""",
    "pull_request_id": "SELECT id FROM pull_requests WHERE github_id = :github_id",
    "review": """
        INSERT INTO reviews (github_id, pull_request_id, user_id, state, submitted_at)
        VALUES (:github_id, :pr_id, :user_id, :state, :submitted_at)
        ON CONFLICT (github_id) DO UPDATE SET state = excluded.state,
            submitted_at = excluded.submitted_at
        WHERE reviews.submitted_at IS NULL OR (excluded.submitted_at IS NOT NULL AND (
            excluded.submitted_at > reviews.submitted_at OR (
                excluded.submitted_at = reviews.submitted_at
                AND (excluded.state = 'DISMISSED' OR reviews.state != 'DISMISSED'))))""",
    "list": f"SELECT {PR_COLUMNS} FROM pull_requests WHERE state = :state ORDER BY id LIMIT :limit",
    "list_after": f"SELECT {PR_COLUMNS} FROM pull_requests WHERE state = :state"
    " AND id > :after ORDER BY id LIMIT :limit",
    "get_pr": f"SELECT {PR_COLUMNS} FROM pull_requests WHERE id = :id",
    "people": f"""
        SELECT roles.role, users.username FROM (
            SELECT 'author' AS role, pull_requests.user_id AS user_id FROM pull_requests
                WHERE pull_requests.id = :id
            UNION ALL SELECT 'approvers', latest.user_id FROM ({
        LATEST_DECISIVE.format(where="reviews.pull_request_id = :id")
    }) AS latest
                WHERE latest.pull_request_id = :id AND latest.state = 'APPROVED'
            UNION ALL SELECT DISTINCT 'commenters', reviews.user_id FROM reviews
                WHERE reviews.pull_request_id = :id AND reviews.state = 'COMMENTED'
            UNION ALL SELECT 'idlers', idle.user_id FROM ({
        IDLE.format(where="review_requests.pull_request_id = :id")
    }) AS idle
                WHERE idle.pull_request_id = :id
        ) AS roles JOIN users ON users.id = roles.user_id ORDER BY roles.role, users.username""",
    "get_user": "SELECT id, github_id, username, metadata, created_at FROM users WHERE id = :id",
    # A user's details: each list walks the user's index rows from :last down, LIMIT :limit
    # (bot/store/users.py, _details_statement).
    "approved": f"""
        SELECT {PR_COLUMNS_OF}
        FROM reviews JOIN pull_requests ON pull_requests.id = reviews.pull_request_id + 0
        WHERE reviews.user_id = :id AND reviews.state = 'APPROVED'
          AND NOT (EXISTS (SELECT later.id FROM reviews AS later
              WHERE later.user_id = reviews.user_id
                AND later.pull_request_id = reviews.pull_request_id
                AND later.state IN ('APPROVED', 'CHANGES_REQUESTED', 'DISMISSED')
                AND (later.submitted_at > reviews.submitted_at
                     OR (later.submitted_at = reviews.submitted_at
                         AND later.github_id > reviews.github_id)
                     OR (reviews.submitted_at IS NULL
                         AND (later.submitted_at IS NOT NULL
                              OR later.github_id > reviews.github_id)))))
          AND reviews.pull_request_id <= :last
        ORDER BY reviews.pull_request_id DESC LIMIT :limit""",
    "commented": f"""
        SELECT {PR_COLUMNS_OF}
        FROM reviews JOIN pull_requests ON pull_requests.id = reviews.pull_request_id + 0
        WHERE reviews.user_id = :id AND reviews.state = 'COMMENTED'
          AND NOT (EXISTS (SELECT earlier.id FROM reviews AS earlier
              WHERE earlier.user_id = reviews.user_id
                AND earlier.pull_request_id = reviews.pull_request_id
                AND earlier.state = 'COMMENTED' AND earlier.id < reviews.id))
          AND reviews.pull_request_id <= :last
        ORDER BY reviews.pull_request_id DESC LIMIT :limit""",
    "idled": f"""
        SELECT {PR_COLUMNS_OF}
        FROM review_requests
            JOIN pull_requests ON pull_requests.id = review_requests.pull_request_id + 0
        WHERE review_requests.user_id = :id AND review_requests.user_id IS NOT NULL
          AND review_requests.removed_at IS NULL AND pull_requests.state = 'open'
          AND NOT (EXISTS (SELECT reviews.id FROM reviews
              WHERE reviews.pull_request_id = review_requests.pull_request_id
                AND reviews.user_id = review_requests.user_id
                AND reviews.submitted_at >= review_requests.requested_at))
          AND review_requests.pull_request_id <= :last
        ORDER BY review_requests.pull_request_id DESC LIMIT :limit""",
}


def numbered(sql: str) -> tuple[str, list[str]]:
    """`:name` parameters as asyncpg's `$n`, and the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return re.sub(r"(?<!:):([a-z_]+)", number, sql), names


class Postgres:
    """asyncpg: a pool; one connection per request."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statements = {key: numbered(sql) for key, sql in SQL.items()}

    async def start(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.url, min_size=1, max_size=10)

    async def stop(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def session(self, write: bool) -> AsyncIterator[Any]:
        async with self.pool.acquire() as conn:
            if not write:
                yield Session(self, conn)
                return
            async with conn.transaction():
                yield Session(self, conn)

    def time(self, value: str | None) -> Any:
        return None if value is None else datetime.fromisoformat(value)


class Session:
    def __init__(self, db: Postgres, conn: Any) -> None:
        self.db, self.conn = db, conn

    def _args(self, key: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
        sql, names = self.db.statements[key]
        return sql, [values[n] for n in names]

    async def val(self, key: str, **values: Any) -> Any:
        sql, args = self._args(key, values)
        return await self.conn.fetchval(sql, *args)

    async def rows(self, key: str, **values: Any) -> list[Any]:
        sql, args = self._args(key, values)
        return await self.conn.fetch(sql, *args)

    async def execute(self, key: str, **values: Any) -> None:
        sql, args = self._args(key, values)
        await self.conn.execute(sql, *args)

    async def raw_rows(self, sql: str, *args: Any) -> list[Any]:
        return await self.conn.fetch(sql, *args)

    async def raw(self, sql: str, *args: Any) -> None:
        await self.conn.execute(sql, *args)

    def placeholders(self, start: int, count: int) -> list[str]:
        return [f"${n}" for n in range(start, start + count)]


class SQLite:
    """aiosqlite: one connection; writers take turns (as the service's SQLite does)."""

    def __init__(self, url: str) -> None:
        self.path = url.split(":///", 1)[1]

    async def start(self) -> None:
        import aiosqlite

        self.conn = await aiosqlite.connect(self.path, isolation_level=None)
        self.lock = asyncio.Lock()

    async def stop(self) -> None:
        await self.conn.close()

    @asynccontextmanager
    async def session(self, write: bool) -> AsyncIterator[Any]:
        if not write:
            yield LiteSession(self)
            return
        async with self.lock:
            await self.conn.execute("BEGIN")
            try:
                yield LiteSession(self)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            await self.conn.execute("COMMIT")

    def time(self, value: str | None) -> Any:
        if value is None:
            return None
        return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class LiteSession:
    def __init__(self, db: SQLite) -> None:
        self.conn = db.conn

    async def val(self, key: str, **values: Any) -> Any:
        async with self.conn.execute(SQL[key], values) as cursor:
            row = await cursor.fetchone()
        return None if row is None else row[0]

    async def rows(self, key: str, **values: Any) -> list[Any]:
        async with self.conn.execute(SQL[key], values) as cursor:
            return await cursor.fetchall()

    async def execute(self, key: str, **values: Any) -> None:
        await self.conn.execute(SQL[key], values)

    async def raw_rows(self, sql: str, *args: Any) -> list[Any]:
        async with self.conn.execute(sql, args) as cursor:
            return await cursor.fetchall()

    async def raw(self, sql: str, *args: Any) -> None:
        await self.conn.execute(sql, args)

    def placeholders(self, start: int, count: int) -> list[str]:
        return [f"?{n}" for n in range(start, start + count)]


# --- webhooks ---------------------------------------------------------------------------


async def webhook(request: Request) -> Response:
    app = request.app.state
    body = await request.body()
    expected = "sha256=" + hmac.new(app.secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("x-hub-signature-256", "")):
        return JSONResponse({"detail": "the signature does not match the body"}, 401)
    guid = request.headers["x-github-delivery"]
    event = request.headers["x-github-event"]
    data = json.loads(body)
    db = app.db
    now = db.time(datetime.now(UTC).isoformat())
    async with db.session(write=True) as s:
        if await s.val("claim", guid=guid, event=event, action=data.get("action"), now=now) is None:
            return JSONResponse({"detail": "duplicate", "delivery": guid})
        await apply(s, db, data, now)
    return JSONResponse({"detail": "applied", "delivery": guid})


async def apply(s: Any, db: Any, data: dict[str, Any], now: Any) -> None:
    repo = data["repository"]
    owner, name = repo["owner"]["login"], repo["name"]
    project = await s.val(
        "project", github_id=repo["id"], owner=owner.lower(), name=name.lower()
    ) or await s.val(
        "new_project",
        full=repo["full_name"],
        owner=owner,
        name=name,
        github_id=repo["id"],
        installation=data.get("installation", {}).get("id"),
        now=now,
    )
    pr = data["pull_request"]
    review = data.get("review")
    people = {pr["user"]["id"]: pr["user"]["login"]}
    for user in pr.get("requested_reviewers", []):
        people[user["id"]] = user["login"]
    if review is not None:
        people[review["user"]["id"]] = review["user"]["login"]
    # People stored under the same login are read, not written (no row lock held).
    wanted = sorted(people)
    marks = s.placeholders(1, len(wanted))
    ids = {
        r[0]: r[1]
        for r in await s.raw_rows(
            f"SELECT github_id, id, username FROM users WHERE github_id IN ({', '.join(marks)})",
            *wanted,
        )
        if r[2] == people[r[0]]
    }
    missing = [gid for gid in wanted if gid not in ids]
    if missing:
        marks = []
        args: list[Any] = []
        for gid in missing:
            p = s.placeholders(len(args) + 1, 4)
            marks.append(f"({', '.join(p)})")
            args += [gid, people[gid], "{}", now]
        rows = await s.raw_rows(
            "INSERT INTO users (github_id, username, metadata, created_at) VALUES "
            + ", ".join(marks)
            + " ON CONFLICT (github_id) DO UPDATE SET username = excluded.username"
            " RETURNING github_id, id",
            *args,
        )
        ids.update((r[0], r[1]) for r in rows)
    updated_at = db.time(pr["updated_at"])
    pr_id = await s.val(
        "pull_request",
        github_id=pr["id"],
        project_id=project,
        user_id=ids[pr["user"]["id"]],
        number=pr["number"],
        title=pr["title"],
        url=pr["html_url"],
        state=pr["state"],
        draft=bool(pr.get("draft")),
        merged=bool(pr.get("merged")),
        labels=json.dumps(sorted(label["name"] for label in pr.get("labels", []))),
        created_at=db.time(pr["created_at"]),
        updated_at=updated_at,
        closed_at=db.time(pr.get("closed_at")),
        merged_at=db.time(pr.get("merged_at")),
    )
    if pr_id is None:
        pr_id = await s.val("pull_request_id", github_id=pr["id"])
    else:
        wanted = sorted(ids[u["id"]] for u in pr.get("requested_reviewers", []))
        p = s.placeholders(3, len(wanted))
        keep = f"AND user_id NOT IN ({', '.join(p)})" if wanted else ""
        await s.raw(
            "UPDATE review_requests SET removed_at = "
            + s.placeholders(2, 1)[0]
            + " WHERE pull_request_id = "
            + s.placeholders(1, 1)[0]
            + " AND (removed_at IS NULL OR removed_at < "
            + s.placeholders(2, 1)[0]
            + f") AND ((user_id IS NOT NULL {keep}) OR team_slug IS NOT NULL)",
            pr_id,
            updated_at,
            *wanted,
        )
        if wanted:
            marks = []
            args = []
            for user_id in wanted:
                p = s.placeholders(len(args) + 1, 3)
                marks.append(f"({', '.join(p)}, NULL)")
                args += [pr_id, user_id, updated_at]
            await s.raw(
                "INSERT INTO review_requests (pull_request_id, user_id, requested_at, removed_at)"
                " VALUES "
                + ", ".join(marks)
                + " ON CONFLICT (pull_request_id, user_id) DO UPDATE SET"
                " requested_at = excluded.requested_at, removed_at = NULL"
                " WHERE review_requests.removed_at IS NOT NULL",
                *args,
            )
    if review is not None:
        await s.execute(
            "review",
            github_id=review["id"],
            pr_id=pr_id,
            user_id=ids[review["user"]["id"]],
            state=review["state"].upper(),
            submitted_at=db.time(review.get("submitted_at")),
        )


# --- reads ------------------------------------------------------------------------------


def iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite: naive UTC text
        return value.replace(" ", "T").removesuffix(".000000") + "Z"
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def pr_json(r: Any) -> dict[str, Any]:
    return {
        "id": r[0],
        "user_id": r[3],
        "project_id": r[2],
        "title": r[5],
        "url": r[6],
        "number": r[4],
        "github_id": r[1],
        "created_at": iso(r[11]),
        "updated_at": iso(r[12]),
        "state": r[7],
        "draft": bool(r[8]),
        "merged": bool(r[9]),
        "labels": json.loads(r[10]) if r[10] else [],
        "closed_at": iso(r[13]),
    }


def answer(body: Any, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text, media_type="application/json", headers=headers)


async def list_pull_requests(request: Request) -> Response:
    db = request.app.state.db
    size = int(request.query_params.get("per_page", "100"))
    after = request.query_params.get("after")
    async with db.session(write=False) as s:
        if after is None:
            rows = await s.rows("list", state="open", limit=size + 1)
        else:
            rows = await s.rows("list_after", state="open", after=int(after), limit=size + 1)
    headers = {}
    if len(rows) > size:
        rows = rows[:size]
        url = request.url.include_query_params(after=rows[-1][0], per_page=size)
        headers["Link"] = f'<{url}>; rel="next"'
    return answer([pr_json(r) for r in rows], headers)


async def get_pull_request(request: Request) -> Response:
    pr_id = int(request.path_params["id"])
    async with request.app.state.db.session(write=False) as s:
        rows = await s.rows("get_pr", id=pr_id)
        if not rows:
            return JSONResponse({"detail": "no such pull request"}, 404)
        body = pr_json(rows[0])
        people: dict[str, Any] = {"author": None, "approvers": [], "commenters": [], "idlers": []}
        for role, login in await s.rows("people", id=pr_id):
            if role == "author":
                people["author"] = login
            else:
                people[role].append(login)
    body.update(people)
    return answer(body)


async def get_user(request: Request) -> Response:
    user_id = int(request.path_params["id"])
    async with request.app.state.db.session(write=False) as s:
        rows = await s.rows("get_user", id=user_id)
        if not rows:
            return JSONResponse({"detail": "no such user"}, 404)
        user = rows[0]
        body = {
            "id": user[0],
            "username": user[2],
            "github_id": user[1],
            "metadata": json.loads(user[3]) if user[3] else {},
        }
        cursors, full = {}, False
        for key in ("approved", "commented", "idled"):
            rows = await s.rows(key, id=user_id, last=DETAILS_LAST, limit=DETAILS_LIMIT)
            body[f"{key}_pull_requests"] = [pr_json(r) for r in reversed(rows)]
            full = full or len(rows) == DETAILS_LIMIT
            cursors[f"{key}_before"] = rows[-1][0] if len(rows) == DETAILS_LIMIT else 1
    if not full:
        return answer(body)
    # The next page's cursors, as the service hands them out.
    url = request.url.remove_query_params("before").include_query_params(**cursors)
    return answer(body, {"Link": f'<{url}>; rel="next"'})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def create(url: str, secret: str) -> Starlette:
    db: Any = Postgres(url) if url.startswith("postgresql") else SQLite(url)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.start()
        yield
        await db.stop()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/github/webhooks", webhook, methods=["POST"]),
            Route("/v1/pull_requests", list_pull_requests),
            Route("/v1/pull_requests/{id}", get_pull_request),
            Route("/v1/users/{id}", get_user),
        ],
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.secret = secret.encode()
    return app


if __name__ == "__main__":
    database_url, port, webhook_secret = sys.argv[1:4]
    uvicorn.run(
        create(database_url, webhook_secret),
        host="127.0.0.1",
        port=int(port),
        log_level="warning",
        access_log=False,
    )
