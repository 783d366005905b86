"""GET /v1/stats: time to first review per project, open requests per reviewer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from bot.api.stats import percentile, period
from bot.app import create_app
from tests.factories import T0, add_project, add_pull_request, add_request, add_review, add_user
from tests.test_openapi_answers import Described

# Monday 5 January 2026 09:00 UTC is T0; "now" is four weeks later, a Monday at 09:00.
NOW = T0 + timedelta(weeks=4)


@pytest.fixture
def stats_client(make_settings):
    with TestClient(create_app(make_settings())) as client:
        client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
        yield client


def run_on(client: TestClient, func, *args):
    assert client.portal is not None
    return client.portal.call(func, *args)


def hours_later(hours: float):
    return NOW - timedelta(weeks=1) + timedelta(hours=hours)  # from a Monday 09:00


async def seed(db) -> dict[str, int]:
    cli = await add_project(db, "docker", "cli")
    web = await add_project(db, "docker", "web")
    await add_project(db, "docker", "gone", active=False)
    ann = await add_user(db, "ann")
    bob = await add_user(db, "bob")
    opened = NOW - timedelta(weeks=1)  # Monday 09:00, a week ago
    # docker/cli: first reviews 1, 2, 3, 4 and 10 working hours after opening (the last
    # on Tuesday at 10:00, 25 hours of wall clock).
    for number, hours in enumerate((1, 2, 3, 4, 25), start=1):
        pr = await add_pull_request(db, cli, ann, number, created_at=opened)
        await add_review(db, pr, ann, "COMMENTED", opened)  # the author's own: never counts
        await add_review(db, pr, bob, "APPROVED", hours_later(hours))
        await add_review(db, pr, bob, "COMMENTED", hours_later(hours + 1))  # later ones neither
    # docker/web: one opened on Friday at 16:00, reviewed on Monday at 09:00: 2 hours.
    friday = NOW - timedelta(days=3) + timedelta(hours=7)
    pr = await add_pull_request(db, web, ann, 10, created_at=friday)
    await add_review(db, pr, bob, "CHANGES_REQUESTED", NOW)
    # First reviewed before the period: left out even with a later review.
    long_ago = NOW - timedelta(days=40)
    old = await add_pull_request(db, web, ann, 11, created_at=long_ago)
    await add_review(db, old, bob, "APPROVED", long_ago + timedelta(hours=1))
    await add_review(db, old, bob, "COMMENTED", NOW - timedelta(hours=1))
    # Open requests: bob waits on two (the oldest since T0), ann on one.
    for number in (20, 21):
        pr = await add_pull_request(db, cli, ann, number)
        await add_request(db, pr, bob, T0 if number == 20 else NOW - timedelta(days=1))
    mine = await add_pull_request(db, web, bob, 22)
    await add_request(db, mine, ann, NOW - timedelta(days=3))
    return {"cli": cli, "web": web, "ann": ann, "bob": bob}


def test_time_to_first_review_per_project(stats_client: TestClient) -> None:
    ids = run_on(stats_client, seed, stats_client.app.state.db)  # type: ignore[attr-defined]
    response = stats_client.get("/v1/stats")
    assert response.status_code == 200, response.text
    stats = response.json()
    assert stats["days"] == 30
    assert stats["since"] == "2026-01-04T00:00:00Z"  # today and the 29 days before
    assert stats["working_hours"] == {
        "start": "09:00",
        "end": "18:00",
        "days": [1, 2, 3, 4, 5],
        "timezone": "UTC",
    }
    first = stats["time_to_first_review"]
    by_name = {p["name"]: p for p in first["projects"]}
    assert sorted(by_name) == ["docker/cli", "docker/web"]  # active projects only
    assert by_name["docker/cli"] == {
        "project_id": ids["cli"],
        "name": "docker/cli",
        "repository": "docker/cli",
        "reviewed": 5,
        "median_hours": 3.0,
        "p90_hours": 7.6,  # between 4 and 10, 60 % of the way
    }
    assert by_name["docker/web"]["reviewed"] == 1  # the one first reviewed long ago is out
    assert by_name["docker/web"]["median_hours"] == 2.0
    assert (first["reviewed"], first["median_hours"]) == (6, 2.5)


def test_a_shorter_period_and_an_empty_project(stats_client: TestClient) -> None:
    run_on(stats_client, seed, stats_client.app.state.db)  # type: ignore[attr-defined]
    stats = stats_client.get("/v1/stats?days=2").json()
    assert (stats["days"], stats["since"]) == (2, "2026-02-01T00:00:00Z")
    by_name = {p["name"]: p for p in stats["time_to_first_review"]["projects"]}
    assert by_name["docker/cli"] == {
        **by_name["docker/cli"],
        "reviewed": 0,
        "median_hours": None,
        "p90_hours": None,
    }
    assert by_name["docker/web"]["reviewed"] == 1


def test_open_requests_per_reviewer(stats_client: TestClient) -> None:
    ids = run_on(stats_client, seed, stats_client.app.state.db)  # type: ignore[attr-defined]
    reviewers = stats_client.get("/v1/stats").json()["reviewers"]
    assert reviewers == [
        {
            "user_id": ids["bob"],
            "login": "bob",
            "open_requests": 2,
            "oldest_requested_at": "2026-01-05T09:00:00Z",
        },
        {
            "user_id": ids["ann"],
            "login": "ann",
            "open_requests": 1,
            "oldest_requested_at": "2026-01-30T09:00:00Z",
        },
    ]


@pytest.mark.parametrize("days", ["0", "366", "-3", "week", "1e3"])
def test_a_period_out_of_bounds_is_400(client: TestClient, days: str) -> None:
    response = client.get(f"/v1/stats?days={days}")
    assert response.status_code == 400
    assert "days" in response.json()["errors"]


def test_the_stats_answer_as_described(stats_client: TestClient) -> None:
    call = Described(stats_client)
    assert call("GET", "/v1/stats").status_code == 200  # empty: nulls and no reviewers
    run_on(stats_client, seed, stats_client.app.state.db)  # type: ignore[attr-defined]
    assert call("GET", "/v1/stats?days=7").status_code == 200
    assert call("GET", "/v1/stats?days=400").status_code == 400


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 50, None),
        ([5.0], 90, 5.0),
        ([1.0, 3.0], 50, 2.0),
        ([4.0, 1.0, 3.0, 2.0, 10.0], 90, 7.6),
        ([4.0, 1.0, 3.0, 2.0, 10.0], 100, 10.0),
        ([4.0, 1.0, 3.0, 2.0, 10.0], 0, 1.0),
    ],
)
def test_percentile(values, q, expected) -> None:
    result = percentile(values, q)
    assert result == pytest.approx(expected) if expected is not None else result is None


def test_the_period_runs_from_midnight_in_the_teams_time_zone() -> None:
    since, moves_on = period(NOW, 30, ZoneInfo("Europe/Paris"))  # 10:00 in Paris
    assert since == datetime(2026, 1, 3, 23, 0, tzinfo=UTC)  # 4 January, 00:00 in Paris
    assert moves_on == datetime(2026, 2, 2, 23, 0, tzinfo=UTC)  # tomorrow, 00:00 in Paris
