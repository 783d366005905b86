"""The redelivery backstop against a fake GitHub (respx) that lists the App's deliveries
and redelivers what it is asked for, on both backends: real signed deliveries, real
failures inside the transaction, the read API to check the outcome."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import respx
import sqlalchemy as sa
from starlette.testclient import TestClient

from bot.app import create_app
from bot.github import parse
from bot.jobs.redeliver import NO_APP, group_attempts, job, redeliver
from bot.store import redeliveries
from bot.store.tables import redelivery_requests
from tests.factories import at
from tests.fake_github import APP_ID, BASE_URL, Clock, FakeGitHub
from tests.github_app import app_key, dropped, sender
from tests.github_events import OCTOCAT, PullRequest, pull_request_event, review_event
from tests.test_webhooks_deliveries import _break_reviews, _repair_reviews


@pytest.fixture
def settings(make_settings):
    return make_settings(
        GITHUB_APP_ID=APP_ID, GITHUB_PRIVATE_KEY=app_key()[0], GITHUB_API_URL=BASE_URL
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def github(clock) -> Any:
    fake = FakeGitHub(app_key()[1], clock)
    with respx.mock(assert_all_called=False) as router:
        fake.mount(router)
        yield fake


@pytest.fixture
def state(client, clock, github) -> Any:
    app_state = client.app.state
    app_state.clock = clock
    app_state.github.sleep_scale = 0
    return app_state


def opened(github_id: int, number: int) -> dict:
    return pull_request_event("opened", PullRequest(github_id, number, at(1)))


def numbers(client: TestClient) -> list[int]:
    return sorted(p["number"] for p in client.get("/v1/pull_requests?state=all").json())


def test_only_failed_guids_not_applied_here_are_asked_for_then_applied(
    client, run, db, state, github
) -> None:
    send = sender(client)
    pr = PullRequest(41, 1, at(1))
    assert github.deliver(send, "pull_request", pull_request_event("opened", pr)) == 200
    _break_reviews(db, run)
    try:
        review = review_event(
            "submitted", pr.but(updated_at=at(2)), 901, OCTOCAT, "APPROVED", at(2)
        )
        assert github.deliver(send, "pull_request_review", review, guid="failed") == 500
    finally:
        _repair_reviews(db, run)
    assert github.deliver(dropped, "pull_request", opened(42, 2), guid="lost") == 0

    def applied_but_timed_out(event: str, body: bytes, guid: str) -> int:
        send(event, body, guid)
        return 0  # GitHub gave up waiting; the delivery was applied all the same

    assert github.deliver(applied_but_timed_out, "pull_request", opened(43, 3), "slow") == 0

    summary = run(redeliver, state)

    assert (summary.deliveries, summary.guids, summary.answered) == (4, 4, 1)
    assert (summary.applied_here, summary.asked_before, summary.asked) == (1, 0, 2)
    assert (summary.refused, summary.failed, summary.stopped) == (0, 0, None)
    asked = [i["guid"] for i in github.hook_deliveries if i["id"] in github.redelivery_asks]
    assert asked == ["failed", "lost"]
    assert {c.scheme for c in github.calls} == {"bearer"}  # as the App, with its JWT
    assert "asked for 2 now" in summary.describe()
    assert numbers(client) == [1, 3]

    assert github.flush_redeliveries(send) == [("failed", 200), ("lost", 200)]
    assert numbers(client) == [1, 2, 3]
    [first] = [p for p in client.get("/v1/pull_requests").json() if p["number"] == 1]
    assert client.get(f"/v1/pull_requests/{first['id']}?details=true").json()["approvers"] == [
        "octocat"
    ]
    again = run(redeliver, state)
    assert (again.guids, again.answered, again.applied_here, again.asked) == (4, 3, 1, 0)
    assert len(github.redelivery_asks) == 2


def test_a_guid_is_never_asked_for_twice(client, run, db, state, github) -> None:
    send = sender(client)
    pr = PullRequest(44, 4, at(1))
    _break_reviews(db, run)
    try:
        review = review_event("submitted", pr, 902, OCTOCAT, "COMMENTED", at(1))
        assert github.deliver(send, "pull_request_review", review, guid="twice") == 500
        assert run(redeliver, state).asked == 1
        # The database is still down when GitHub redelivers it: it fails again.
        assert github.flush_redeliveries(send) == [("twice", 500)]
    finally:
        _repair_reviews(db, run)
    summary = run(redeliver, state)
    assert (summary.deliveries, summary.asked_before, summary.asked) == (2, 1, 0)
    assert len(github.redelivery_asks) == 1
    row = run(redeliveries.get_request, db, "twice")
    assert (row["outcome"], row["event"], row["action"]) == (
        "asked",
        "pull_request_review",
        "submitted",
    )


def test_the_window_pages_by_cursor_and_stops_at_its_start(
    client, run, state, github, clock
) -> None:
    state.github.per_page = 2
    clock.advance(hours=-80)
    for n in range(2):
        github.deliver(dropped, "pull_request", opened(50 + n, 50 + n), guid=f"old-{n}")
    clock.advance(hours=78)
    for n in range(3):
        github.deliver(dropped, "pull_request", opened(60 + n, 60 + n), guid=f"recent-{n}")
    clock.advance(hours=2)

    one_hour = run(redeliver, state, 1)
    assert (one_hour.deliveries, one_hour.asked) == (0, 0)
    summary = run(redeliver, state)
    assert (summary.deliveries, summary.asked, summary.hours) == (3, 3, 72)
    lists = github.calls_to(r"/app/hook/deliveries$")
    # 2 + 1 recent on two pages; the second page's older one ends the listing there.
    assert [c.query.get("cursor") is None for c in lists[-2:]] == [True, False]
    assert len(lists) == 1 + 2
    assert [i["guid"] for i in github.hook_deliveries if i["id"] in github.redelivery_asks] == [
        "recent-0",
        "recent-1",
        "recent-2",
    ]


def test_the_scheduled_job_lists_back_to_its_last_complete_pass(
    client, run, state, github, clock
) -> None:
    state.github.per_page = 2
    for n in range(5):
        github.deliver(dropped, "pull_request", opened(90 + n, 90 + n), guid=f"early-{n}")
        clock.advance(hours=1)
    first = run(job, state)  # after start-up: the whole window
    assert (first.deliveries, first.asked, first.hours) == (5, 5, 72)
    clock.advance(minutes=10)
    github.deliver(dropped, "pull_request", opened(99, 99), guid="late")
    github.reset_calls()
    second = run(job, state)
    assert (second.deliveries, second.asked, second.hours) == (1, 1, 0.42)
    # One page: the listing stopped at the first attempt before the last pass (less 15 min).
    assert len(github.calls_to(r"/app/hook/deliveries$")) == 1
    # The command always reads the window it is given.
    assert run(redeliver, state).deliveries == 6


def test_5xx_is_retried_then_given_back_for_the_next_run(client, run, db, state, github) -> None:
    github.deliver(dropped, "pull_request", opened(70, 70), guid="flaky")
    github.fail_next("POST", r"/attempts$", 502)
    summary = run(redeliver, state)
    assert (summary.asked, summary.failed) == (1, 0)
    assert len(github.calls_to(r"/attempts$")) == 2
    assert github.queued_redeliveries  # the retry took

    github.deliver(dropped, "pull_request", opened(71, 71), guid="down")
    github.fail_next("POST", r"/attempts$", 503, times=4)
    summary = run(redeliver, state)
    assert (summary.asked, summary.failed, summary.asked_before) == (0, 1, 1)
    assert run(redeliveries.get_request, db, "down") is None
    assert "1 failed" in summary.describe()
    summary = run(redeliver, state)
    assert (summary.asked, summary.failed) == (1, 0)


def test_a_refusal_is_kept_and_never_asked_again(client, run, db, state, github) -> None:
    github.deliver(dropped, "pull_request", opened(72, 72), guid="refused")
    github.fail_next("POST", r"/attempts$", 422)
    summary = run(redeliver, state)
    assert (summary.asked, summary.refused) == (0, 1)
    row = run(redeliveries.get_request, db, "refused")
    assert row["outcome"] == "refused" and row["error"].startswith("422")
    assert run(redeliver, state).asked_before == 1
    assert len(github.calls_to(r"/attempts$")) == 1


def test_rate_limits_are_waited_out_or_stop_the_run(client, run, db, state, github) -> None:
    github.deliver(dropped, "pull_request", opened(73, 73), guid="limited")
    github.fail_next("POST", r"/attempts$", 429, headers={"retry-after": "7"})
    assert run(redeliver, state).asked == 1
    assert 7.0 in state.github.stats.waits

    github.deliver(dropped, "pull_request", opened(74, 74), guid="low")
    github.remaining["app"] = 60  # below what a run may spend
    summary = run(redeliver, state)
    assert summary.asked == 0
    assert summary.stopped is not None and "rate limit low" in summary.stopped
    assert run(redeliveries.get_request, db, "low") is None  # asked by a later run
    github.remaining["app"] = 5000
    assert run(redeliver, state).asked == 1


def test_without_the_app_it_says_once_that_it_cannot(make_settings, github, clock, caplog) -> None:
    github.personal_token = "ghp_local"
    settings = make_settings(GITHUB_TOKEN="ghp_local", GITHUB_API_URL=BASE_URL)
    caplog.set_level(logging.WARNING, logger="bot.jobs.redeliver")
    with TestClient(create_app(settings)) as client:
        first = client.portal.call(redeliver, client.app.state)
        second = client.portal.call(redeliver, client.app.state)
    assert first.stopped == second.stopped == NO_APP
    assert [r.getMessage() for r in caplog.records] == [NO_APP]
    assert github.calls == []


def test_the_command_prints_the_summary(settings, github, clock, monkeypatch, capsys, tmp_path):
    from bot.cli import main

    with TestClient(create_app(settings)) as client:
        github.deliver(sender(client), "pull_request", opened(80, 80), guid="fine")
    github.deliver(dropped, "pull_request", opened(81, 81), guid="gone")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(logging.getLogger(), "handlers", list(logging.getLogger().handlers))
    env = {
        "DATABASE_URL": settings.database_url,
        "GITHUB_APP_ID": APP_ID,
        "GITHUB_PRIVATE_KEY": settings.github_private_key,
        "GITHUB_API_URL": BASE_URL,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)

    assert main(["redeliver", "--hours", "24"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        "RedeliveryBackstop: 2 deliveries of 2 GUIDs in the last 24 h: 1 answered 2xx, "
        "0 applied here, 0 asked for before; asked for 1 now, 0 refused, 0 failed "
        "(2 GitHub requests)"
    ) in lines
    with pytest.raises(SystemExit) as stop:
        main(["redeliver", "--hours", "100"])
    assert stop.value.code == 2
    assert "at most 72" in capsys.readouterr().err

    monkeypatch.delenv("GITHUB_APP_ID")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_local")
    assert main(["redeliver"]) == 2
    assert capsys.readouterr().err == f"reviewer: {NO_APP}\n"


def test_group_attempts_by_guid() -> None:
    def attempt(i: int, guid: str, status: int, hour: int) -> dict:
        return {
            "id": i,
            "guid": guid,
            "status_code": status,
            "event": "pull_request",
            "action": "opened",
            "delivered_at": f"2026-01-01T{hour:02d}:00:00Z",
        }

    listed = [
        attempt(6, "b", 502, 6),  # newest first, as GitHub lists them
        attempt(5, "a", 200, 5),
        attempt(4, "c", 0, 4),
        attempt(3, "b", 500, 3),
        attempt(2, "a", 503, 2),
    ]
    grouped = group_attempts(parse.hook_delivery(item) for item in listed)
    assert (grouped.deliveries, grouped.guids, grouped.answered) == (5, 3, 1)
    # Oldest first, each by its newest attempt.
    assert [(m.guid, m.delivery_id) for m in grouped.missed] == [("b", 6), ("c", 4)]
    with pytest.raises(parse.PayloadError, match=r"delivery\.delivered_at is missing"):
        parse.hook_delivery({"id": 1, "guid": "g", "event": "ping"})


def test_asked_guids_are_durable(run, db) -> None:
    now = at(1)
    assert run(redeliveries.claim, db, "g", 1, "pull_request", "opened", now)
    assert not run(redeliveries.claim, db, "g", 2, "pull_request", "opened", now)
    assert run(redeliveries.asked_guids, db, ["g", "h"]) == {"g"}
    assert run(db.fetch_val, sa.select(sa.func.count()).select_from(redelivery_requests)) == 1
