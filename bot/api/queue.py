"""GET /v1/queue: open pull requests, each with who it waits on and for how long.

How long is counted in working hours (REMINDER_WORKING_HOURS on REMINDER_WORKING_DAYS),
in the reviewer's time zone (`metadata.timezone`, else TIMEZONE), in tenths of an hour
rounded down. A wait is `idle` when the reminders would nudge about it: the pull request
is no draft, carries none of REMINDER_IGNORE_LABELS, and the request is
REMINDER_MIN_IDLE_HOURS working hours old.

The answer changes with time alone, during working hours: `Wait.changes_at` says when
each wait's figures will next change, so a conditional GET can tell when to stop
answering 304 (at night and at weekends nothing moves).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field
from starlette.requests import Request
from typing_extensions import TypedDict

from bot.api.declare import BAD_QUERY, Answer, Api, Reply
from bot.api.fields import WholeNumber
from bot.api.models import Paging, PullRequest, Time
from bot.api.paging import PAGED, page_of, paging_headers
from bot.settings import Settings
from bot.store import queue as store
from bot.worktime import (
    WorkingWeek,
    add_working_minutes,
    person_zone,
    working_minutes,
    working_week,
)

Row = Mapping[str, Any]
STEP_MINUTES = 6  # waits are shown in tenths of an hour

api = Api("pull requests")


class QueueQuery(Paging):
    project_id: Annotated[int | None, WholeNumber(), Field(description="Only this project's.")] = (
        None
    )
    reviewer_id: Annotated[
        int | None, WholeNumber(), Field(description="Only those waiting on this user.")
    ] = None
    author_id: Annotated[int | None, WholeNumber(), Field(description="Only this author's.")] = None


class Waiting(TypedDict):
    """A review request still waiting: on a person (`login`) or on a team."""

    user_id: int | None
    login: str | None
    team: Annotated[str | None, Field(description="A team's slug.")]
    requested_at: Time
    waiting_hours: Annotated[
        float,
        Field(
            description="Working hours since the request, in the reviewer's time zone, "
            "in tenths rounded down."
        ),
    ]
    idle: Annotated[
        bool,
        Field(
            description="Reminders would nudge about it: no draft, none of "
            "REMINDER_IGNORE_LABELS, REMINDER_MIN_IDLE_HOURS reached."
        ),
    ]


class QueueItem(PullRequest):
    project: Annotated[str, Field(description="The project's name.")]
    repository: Annotated[str, Field(examples=["docker/cli"])]
    author: Annotated[str | None, Field(description="The author's login.")]
    waiting_on: Annotated[list[Waiting], Field(description="Pending requests, oldest first.")]


def ignored(pull_request: Row, settings: Settings) -> bool:
    """A draft, or labelled with one of REMINDER_IGNORE_LABELS: reminders leave it be."""
    labels = {str(label).lower() for label in pull_request["labels"] or []}
    return bool(pull_request["draft"] or labels & settings.reminder_ignore_labels)


@dataclass(frozen=True)
class Wait:
    """How long one request has waited, as of `now`, and when that next changes."""

    minutes: float
    idle: bool
    changes_at: datetime | None  # None: never, with no write

    @property
    def hours(self) -> float:
        return math.floor(self.minutes / STEP_MINUTES) * STEP_MINUTES / 60


def wait_of(
    requested_at: datetime,
    now: datetime,
    zone: ZoneInfo,
    week: WorkingWeek,
    min_idle_hours: float,
    ignored: bool,
) -> Wait:
    minutes = working_minutes(requested_at, now, zone, week)
    next_step = (math.floor(minutes / STEP_MINUTES) + 1) * STEP_MINUTES
    # Counted on from now, the few minutes left cost a day or two of looking ahead.
    moments = [add_working_minutes(now, next_step - minutes, zone, week)]
    idle = not ignored and minutes >= min_idle_hours * 60
    if not ignored and not idle:
        moments.append(add_working_minutes(now, min_idle_hours * 60 - minutes, zone, week))
    known = [m for m in moments if m is not None]
    return Wait(minutes, idle, min(known) if known else None)


def wait_of_request(
    request: Row, pull_request: Row, now: datetime, settings: Settings, week: WorkingWeek
) -> Wait:
    return wait_of(
        request["requested_at"],
        now,
        person_zone(request["metadata"], settings.timezone),
        week,
        settings.reminder_min_idle_hours,
        ignored(pull_request, settings),
    )


def waiting_json(request: Row, wait: Wait) -> Waiting:
    """One pending review request: who (a person or a team), since when, for how long."""
    return {
        "user_id": request["user_id"],
        "login": request["username"],
        "team": request["team_slug"],
        "requested_at": request["requested_at"],
        "waiting_hours": round(wait.hours, 1),
        "idle": wait.idle,
    }


def queue_item_json(pull_request: Row, waiting: Sequence[tuple[Row, Wait]]) -> dict[str, Any]:
    return {
        **pull_request,
        "project": pull_request["project_name"],
        "repository": f"{pull_request['repo_owner']}/{pull_request['repo_name']}",
        "author": pull_request["author"],
        "waiting_on": [waiting_json(request, wait) for request, wait in waiting],
    }


def earliest(moments: list[datetime | None]) -> datetime | None:
    known = [m for m in moments if m is not None]
    return min(known) if known else None


@api.get(
    "/v1/queue",
    summary="Open pull requests, each with who it waits on and for how long",
    query=QueueQuery,
    answers=[
        Answer(
            200, "Open pull requests of active projects, by id.", list[QueueItem], headers=PAGED
        ),
        BAD_QUERY,
    ],
)
async def get_queue(request: Request, query: QueueQuery) -> Reply:
    state = request.app.state
    page = page_of(query)
    total, rows = await store.queue_page(
        state.db,
        page.offset,
        page.size,
        project_id=query.project_id,
        reviewer_id=query.reviewer_id,
        author_id=query.author_id,
    )
    by_pull_request: dict[int, list[Row]] = defaultdict(list)
    for pending in await store.pending_requests(state.db, [r["id"] for r in rows]):
        by_pull_request[pending["pull_request_id"]].append(pending)
    now = state.clock()
    week = working_week(state.settings)
    body, moments = [], []
    for row in rows:
        waiting = [
            (pending, wait_of_request(pending, row, now, state.settings, week))
            for pending in by_pull_request[row["id"]]
        ]
        moments.extend(wait.changes_at for _, wait in waiting)
        body.append(queue_item_json(row, waiting))
    # When the answer next changes with no write (for conditional GETs).
    request.state.changes_at = earliest(moments)
    return Reply(body, headers=paging_headers(request, page, total))
