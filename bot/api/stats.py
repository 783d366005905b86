"""GET /v1/stats?days=N: time to first review per project, open requests per reviewer.

Time to first review runs from a pull request's opening to its first review by someone
other than its author, for pull requests first reviewed in the last N days (today and
the N-1 days before it, in TIMEZONE, so the answer moves at midnight, not every
second); it is counted in working hours (REMINDER_WORKING_HOURS on REMINDER_WORKING_DAYS,
in TIMEZONE), so a weekend does not make a team look slow. Percentiles are computed here from one
query's rows: one per pull request reviewed in the period.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import Field
from starlette.requests import Request
from typing_extensions import TypedDict

from bot.api.access import READ, Reader
from bot.api.declare import BAD_QUERY, Answer, Api
from bot.api.fields import WholeNumber
from bot.api.models import Query, Time
from bot.store import queue as store
from bot.worktime import WorkingWeek, working_hours, zone_named

DEFAULT_DAYS = 30
MAX_DAYS = 365

api = Api("pull requests")


class StatsQuery(Query):
    days: Annotated[
        int,
        WholeNumber(1, MAX_DAYS),
        Field(description="The period: today and the days before it, this many in all."),
    ] = DEFAULT_DAYS


Hours = Annotated[float | None, Field(description="Working hours; null without data.")]


class ProjectReviewTimes(TypedDict):
    project_id: int
    name: str
    repository: Annotated[str, Field(examples=["docker/cli"])]
    reviewed: Annotated[int, Field(description="Pull requests first reviewed in the period.")]
    median_hours: Hours
    p90_hours: Hours


class ReviewTimes(TypedDict):
    """From opening to the first review by someone other than the author, for pull
    requests first reviewed in the period."""

    reviewed: int
    median_hours: Hours
    p90_hours: Hours
    projects: Annotated[list[ProjectReviewTimes], Field(description="Each active project.")]


class OpenRequests(TypedDict):
    user_id: int
    login: str
    open_requests: int
    oldest_requested_at: Time


class Week(TypedDict):
    start: Annotated[str, Field(examples=["09:00"])]
    end: Annotated[str, Field(examples=["18:00"])]
    days: Annotated[list[int], Field(description="ISO weekdays, 1 = Monday.")]
    timezone: str


class Stats(TypedDict):
    days: int
    since: Annotated[Time, Field(description="Midnight (TIMEZONE) `days - 1` days before today.")]
    working_hours: Annotated[Week, Field(description="The working week the hours count.")]
    time_to_first_review: ReviewTimes
    reviewers: Annotated[list[OpenRequests], Field(description="Open requests per person.")]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def hours(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def project_stats(project: dict, waits: Sequence[float]) -> ProjectReviewTimes:
    return {
        "project_id": project["id"],
        "name": project["name"],
        "repository": f"{project['repo_owner']}/{project['repo_name']}",
        "reviewed": len(waits),
        "median_hours": hours(percentile(waits, 50)),
        "p90_hours": hours(percentile(waits, 90)),
    }


def period(now: datetime, days: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The start of the day `days - 1` days before today, and the start of tomorrow (in
    `zone`): the period shown, and when it moves on."""
    today = now.astimezone(zone).date()

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=zone).astimezone(now.tzinfo)

    return midnight(today - timedelta(days=days - 1)), midnight(today + timedelta(days=1))


def week_json(week: WorkingWeek, timezone: str) -> Week:
    def clock(minutes: int) -> str:
        return f"{minutes // 60:02d}:{minutes % 60:02d}"

    return {
        "start": clock(week.start),
        "end": clock(week.end),
        "days": sorted(week.days),
        "timezone": timezone,
    }


@api.get(
    "/v1/stats",
    summary="Time to first review per project, and open requests per reviewer",
    query=StatsQuery,
    auth=READ,
    answers=[Answer(200, "The figures of the period.", Stats), BAD_QUERY],
)
async def get_stats(request: Request, query: StatsQuery, auth: Reader) -> Stats:
    state = request.app.state
    settings = state.settings
    days = query.days
    week = WorkingWeek.from_settings(settings)
    team_zone = zone_named(settings.timezone) or ZoneInfo("UTC")
    since, moves_on = period(state.clock(), days, team_zone)

    waits: dict[int, list[float]] = defaultdict(list)
    for row in await store.first_reviews(state.db, since, auth.visible):
        waits[row["project_id"]].append(
            working_hours(row["created_at"], row["first_review_at"], team_zone, week)
        )
    projects = await store.active_projects(state.db, auth.visible)
    everything = [w for project_waits in waits.values() for w in project_waits]
    reviewers: list[OpenRequests] = [
        {
            "user_id": row["user_id"],
            "login": row["username"],
            "open_requests": row["open_requests"],
            "oldest_requested_at": row["oldest_requested_at"],
        }
        for row in await store.open_requests_per_reviewer(state.db, auth.visible)
    ]
    # When the answer next changes with no write (for conditional GETs).
    request.state.changes_at = moves_on
    return {
        "days": days,
        "since": since,
        "working_hours": week_json(week, settings.timezone),
        "time_to_first_review": {
            "reviewed": len(everything),
            "median_hours": hours(percentile(everything, 50)),
            "p90_hours": hours(percentile(everything, 90)),
            "projects": [project_stats(p, waits.get(p["id"], [])) for p in projects],
        },
        "reviewers": reviewers,
    }
