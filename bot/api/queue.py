"""GET /v1/queue: open pull requests, each with who it waits on and for how long.

How long is counted in working hours (REMINDER_WORKING_HOURS on REMINDER_WORKING_DAYS),
in the reviewer's time zone (`metadata.timezone`, else TIMEZONE). A wait is `idle` when
the reminders would nudge about it: the pull request is no draft, carries none of
REMINDER_IGNORE_LABELS, and the request is REMINDER_MIN_IDLE_HOURS working hours old.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.api.paging import page_of, paging_headers
from bot.api.params import query_int
from bot.api.resources import iso, pull_request_json
from bot.settings import Settings
from bot.store import queue as store
from bot.worktime import person_zone, working_hours, working_week

Row = Mapping[str, Any]


def ignored(pull_request: Row, settings: Settings) -> bool:
    """A draft, or labelled with one of REMINDER_IGNORE_LABELS: reminders leave it be."""
    labels = {str(label).lower() for label in pull_request["labels"] or []}
    return bool(pull_request["draft"] or labels & settings.reminder_ignore_labels)


def waiting_json(
    request: Row, pull_request: Row, now: datetime, settings: Settings
) -> dict[str, Any]:
    """One pending review request: who (a person or a team), since when, for how long."""
    zone = person_zone(request["metadata"], settings.timezone)
    hours = working_hours(request["requested_at"], now, zone, working_week(settings))
    return {
        "user_id": request["user_id"],
        "login": request["username"],
        "team": request["team_slug"],
        "requested_at": iso(request["requested_at"]),
        "waiting_hours": round(hours, 2),
        "idle": not ignored(pull_request, settings) and hours >= settings.reminder_min_idle_hours,
    }


def queue_item_json(
    pull_request: Row, requests: Sequence[Row], now: datetime, settings: Settings
) -> dict[str, Any]:
    return {
        **pull_request_json(pull_request),
        "project": pull_request["project_name"],
        "repository": f"{pull_request['repo_owner']}/{pull_request['repo_name']}",
        "author": pull_request["author"],
        "waiting_on": [waiting_json(r, pull_request, now, settings) for r in requests],
    }


async def get_queue(request: Request) -> JSONResponse:
    state = request.app.state
    page = page_of(request)
    total, rows = await store.queue_page(
        state.db,
        page.offset,
        page.size,
        project_id=query_int(request, "project_id"),
        reviewer_id=query_int(request, "reviewer_id"),
        author_id=query_int(request, "author_id"),
    )
    by_pull_request: dict[int, list[Row]] = defaultdict(list)
    for pending in await store.pending_requests(state.db, [r["id"] for r in rows]):
        by_pull_request[pending["pull_request_id"]].append(pending)
    now = state.clock()
    body = [queue_item_json(r, by_pull_request[r["id"]], now, state.settings) for r in rows]
    return JSONResponse(body, headers=paging_headers(request, page, total))


routes = [Route("/v1/queue", get_queue, methods=["GET"])]
