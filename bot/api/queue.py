"""GET /v1/queue: open pull requests, each with who it waits on and for how long.

How long, and whether a wait is idle, is bot/waiting.py's to say; the reviewer's time
zone is their `metadata.timezone`, else TIMEZONE. The answer changes with time alone
during working hours, and says when (for conditional GETs): at night and at weekends
nothing moves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import Field
from starlette.requests import Request
from typing_extensions import TypedDict

from bot.api.access import READ, Reader
from bot.api.conditional import data_version_of
from bot.api.declare import BAD_QUERY, Answer, Api, Reply
from bot.api.fields import WholeNumber
from bot.api.models import Paging, PullRequest, Time
from bot.api.paging import PAGED, page_of, paging_headers
from bot.store import queue as store
from bot.waiting import Wait, earliest, wait_of_request
from bot.worktime import WorkingWeek

Row = Mapping[str, Any]

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


@api.get(
    "/v1/queue",
    summary="Open pull requests, each with who it waits on and for how long",
    query=QueueQuery,
    auth=READ,
    answers=[
        Answer(
            200, "Open pull requests of active projects, by id.", list[QueueItem], headers=PAGED
        ),
        BAD_QUERY,
    ],
)
async def get_queue(request: Request, query: QueueQuery, auth: Reader) -> Reply:
    state = request.app.state
    page = page_of(query)
    total, rows = await store.queue_page(
        state.db,
        page.offset,
        page.size,
        project_id=query.project_id,
        reviewer_id=query.reviewer_id,
        author_id=query.author_id,
        visible=auth.visible,
        total_at=await data_version_of(request),
    )
    by_pull_request: dict[int, list[Row]] = defaultdict(list)
    for pending in await store.pending_requests(state.db, [r["id"] for r in rows]):
        by_pull_request[pending["pull_request_id"]].append(pending)
    now = state.clock()
    week = WorkingWeek.from_settings(state.settings)
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
