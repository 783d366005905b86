"""GET /v1/queue: open pull requests with who they wait on and for how long."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from bot.app import create_app
from bot.store.tables import projects, review_requests
from bot.waiting import wait_of
from bot.worktime import WorkingWeek
from tests.factories import (
    T0,
    add_project,
    add_pull_request,
    add_request,
    add_review,
    add_user,
    at,
)
from tests.test_openapi_answers import Described

# Wednesday 7 January 2026, 12:00 UTC: two working days and three hours after T0.
NOW = T0 + timedelta(days=2, hours=3)


@pytest.fixture
def queue_client(make_settings):
    settings = make_settings(REMINDER_MIN_IDLE_HOURS="4", REMINDER_IGNORE_LABELS="On Hold")
    with TestClient(create_app(settings)) as client:
        client.app.state.clock = lambda: NOW  # type: ignore[attr-defined]
        yield client


def run_on(client: TestClient, func, *args):
    assert client.portal is not None
    return client.portal.call(func, *args)


async def seed(db) -> dict[str, int]:
    cli = await add_project(db, "docker", "cli")
    await db.execute(projects.update().where(projects.c.id == cli).values(name="The CLI"))
    gone = await add_project(db, "docker", "old", active=False)
    ann = await add_user(db, "ann")
    bob = await add_user(db, "bob", metadata={"timezone": "Asia/Tokyo"})
    eve = await add_user(db, "eve")
    waiting = await add_pull_request(db, cli, ann, 1, title="Fix <b>the</b> build")
    await add_request(db, waiting, bob, T0)  # Tokyo: Monday 18:00 local, two days ago
    await add_request(db, waiting, eve, NOW - timedelta(hours=1))  # fresh: not yet idle
    reviewed = await add_pull_request(db, cli, bob, 2)
    await add_request(db, reviewed, ann, at(0))
    await add_review(db, reviewed, ann, "COMMENTED", at(30))  # ann answered: not waiting
    await add_request(db, reviewed, eve, at(0), removed_at=at(5))  # withdrawn
    draft = await add_pull_request(db, cli, eve, 3, draft=True)
    await add_request(db, draft, ann, T0)
    held = await add_pull_request(db, cli, eve, 4, labels=["on hold"])
    await add_request(db, held, ann, T0)
    closed = await add_pull_request(db, cli, ann, 5, state="closed")
    await add_request(db, closed, bob, T0)
    await add_pull_request(db, gone, ann, 6)  # a project no longer followed
    team = await add_pull_request(db, cli, None, 7)
    await add_team_request(db, team, "core", T0)
    return {"cli": cli, "ann": ann, "bob": bob, "eve": eve, "waiting": waiting, "team": team}


async def add_team_request(db, pr_id: int, slug: str, requested_at) -> None:
    await db.execute(
        review_requests.insert().values(
            pull_request_id=pr_id, team_slug=slug, requested_at=requested_at
        )
    )


def test_each_open_pull_request_with_who_it_waits_on(queue_client: TestClient) -> None:
    ids = run_on(queue_client, seed, queue_client.app.state.db)  # type: ignore[attr-defined]
    response = queue_client.get("/v1/queue")
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "5"
    queue = {item["number"]: item for item in response.json()}
    assert sorted(queue) == [1, 2, 3, 4, 7]  # not the closed one, nor the unfollowed project

    first = queue[1]
    assert first["title"] == "Fix <b>the</b> build"  # as stored: escaping is the page's job
    assert (first["project"], first["repository"], first["author"]) == (
        "The CLI",
        "docker/cli",
        "ann",
    )
    assert first["project_id"] == ids["cli"]
    bob, eve = first["waiting_on"]  # oldest first
    # Bob is in Tokyo: asked at 18:00 his Monday; Tuesday and Wednesday (to 21:00) = 18 h.
    assert bob == {
        "user_id": ids["bob"],
        "login": "bob",
        "team": None,
        "requested_at": "2026-01-05T09:00:00Z",
        "waiting_hours": 18.0,
        "idle": True,
    }
    assert (eve["login"], eve["waiting_hours"], eve["idle"]) == ("eve", 1.0, False)

    assert queue[2]["waiting_on"] == []  # answered and withdrawn requests wait on nobody
    # Ann waits 9 + 9 + 3 hours (UTC) on the draft and the held one, which are not idle.
    assert [(w["login"], w["waiting_hours"], w["idle"]) for w in queue[3]["waiting_on"]] == [
        ("ann", 21.0, False)
    ]
    assert queue[4]["waiting_on"][0]["idle"] is False
    [core] = queue[7]["waiting_on"]
    assert (core["team"], core["login"], core["user_id"], core["idle"]) == (
        "core",
        None,
        None,
        True,
    )
    assert queue[7]["author"] is None


def test_filters_narrow_the_queue(queue_client: TestClient) -> None:
    ids = run_on(queue_client, seed, queue_client.app.state.db)  # type: ignore[attr-defined]

    def numbers(query: str) -> list[int]:
        response = queue_client.get(f"/v1/queue?{query}")
        assert response.status_code == 200, response.text
        return [item["number"] for item in response.json()]

    assert numbers(f"project_id={ids['cli']}") == [1, 2, 3, 4, 7]
    assert numbers(f"project_id={ids['cli'] + 100}") == []
    assert numbers(f"reviewer_id={ids['ann']}") == [3, 4]
    assert numbers(f"reviewer_id={ids['bob']}") == [1]
    assert numbers(f"author_id={ids['eve']}") == [3, 4]
    assert numbers(f"author_id={ids['eve']}&reviewer_id={ids['bob']}") == []
    assert numbers("per_page=2&page=2") == [3, 4]


@pytest.mark.parametrize(
    "query", ["project_id=x", "reviewer_id=-1", "author_id=0", "per_page=0", "page=abc"]
)
def test_malformed_filters_are_400(client: TestClient, query: str) -> None:
    response = client.get(f"/v1/queue?{query}")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("invalid query")


def test_the_queue_answers_as_described(queue_client: TestClient) -> None:
    run_on(queue_client, seed, queue_client.app.state.db)  # type: ignore[attr-defined]
    call = Described(queue_client)
    assert call("GET", "/v1/queue").status_code == 200
    assert call("GET", "/v1/queue?reviewer_id=1&per_page=1").status_code == 200
    assert call("GET", "/v1/queue?project_id=nope").status_code == 400


def test_a_wait_says_when_its_figures_next_change() -> None:
    utc, office = ZoneInfo("UTC"), WorkingWeek()
    wednesday_noon = NOW
    fresh = wait_of(NOW - timedelta(minutes=3), NOW, utc, office, 4, ignored=False)
    assert (fresh.hours, fresh.idle) == (0.0, False)
    assert fresh.changes_at == wednesday_noon + timedelta(minutes=3)  # 0.1 h reached
    afternoon = NOW + timedelta(hours=3)
    almost_idle = wait_of(
        afternoon - timedelta(hours=3, minutes=59, seconds=30), afternoon, utc, office, 4, False
    )
    # 3.9 h shown; idle at 4 h, half a minute from now, before the next tenth.
    assert (almost_idle.hours, almost_idle.idle) == (3.9, False)
    assert almost_idle.changes_at == afternoon + timedelta(seconds=30)
    saturday = NOW + timedelta(days=3)
    weekend = wait_of(NOW - timedelta(hours=2), saturday, utc, office, 0, ignored=True)
    # Wednesday 10:00 to Saturday: 8 + 9 + 9 = 26 h, and nothing moves until Monday 09:06.
    assert (weekend.hours, weekend.idle) == (26.0, False)
    assert weekend.changes_at == saturday + timedelta(days=2, hours=-3, minutes=6)
