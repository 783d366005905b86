"""Reminders on each person's own clock, against the fake Slack, with a controllable clock.

Three people in three zones (Tokyo from their metadata, Berlin from their Slack profile,
Los Angeles from TIMEZONE), a weekend, working hours, snooze by button and by PATCH,
ignored labels, idle working hours, escalation, real-time DMs and the App Home.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from bot.app import create_app
from bot.jobs.reminders import remind_idlers, scheduled_reminders
from bot.reminders import realtime
from bot.slack.messages import SNOOZE_ACTION
from bot.store.tables import escalations, realtime_notices
from tests.conftest import API_TOKEN
from tests.factories import add_project, add_pull_request, add_request, add_user
from tests.github_events import (
    AUTHOR,
    HUBOT,
    OCTOCAT,
    PullRequest,
    github_user,
    pull_request_event,
)
from tests.slack_signing import app_home_opened, button_click
from tests.webhook_client import deliver

CHANNEL = "#reviews"
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
LA = ZoneInfo("America/Los_Angeles")
THURSDAY = datetime(2026, 1, 8, 0, 0, tzinfo=UTC)


def wait_for(condition: Callable[[], bool]) -> None:
    """Bolt acks first and works after; wait (boundedly) for that work to show."""
    deadline = time.monotonic() + 10
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never came true")
        time.sleep(0.02)


class Service:
    """The app under test with its clock in hand."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.state = client.app.state  # type: ignore[attr-defined]
        self.db = self.state.db

    def call(self, func, *args, **kwargs):
        assert self.client.portal is not None
        return self.client.portal.call(partial(func, *args, **kwargs))

    def at(self, now: datetime) -> None:
        self.state.clock = lambda: now

    def remind(self, now: datetime, **kwargs):
        self.at(now)
        return self.call(remind_idlers, self.state, **kwargs)

    def scheduled(self, now: datetime):
        self.at(now)
        return self.call(scheduled_reminders, self.state)

    def user(self, user_id: int) -> dict:
        return self.client.get(f"/v1/users/{user_id}").json()


@pytest.fixture
def service(make_settings, fake_slack):
    """`service(**env)`: the app on the fake Slack, with more settings."""
    clients = []

    def start(**env: str) -> Service:
        settings = make_settings(**fake_slack.env(SLACK_CHANNEL=CHANNEL, **env))
        client = TestClient(create_app(settings))
        client.__enter__()
        clients.append(client)
        return Service(client)

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def dms(fake_slack) -> list[tuple[str, str]]:
    return [(c.args["channel"], c.args["text"]) for c in fake_slack.calls_to("chat.postMessage")]


@pytest.fixture
def three_zones(service, fake_slack):
    """Tokyo (metadata), Berlin (Slack profile), Los Angeles (TIMEZONE): each waits on a PR."""
    app = service(TIMEZONE="America/Los_Angeles")
    fake_slack.set_profile("U2", tz="Europe/Berlin")
    db = app.db
    project = app.call(add_project, db)
    author = app.call(add_user, db, "bob")
    pr = app.call(add_pull_request, db, project, author, 1, title="Fix the build")
    ids = {}
    for login, metadata in (
        ("tokyo", {"slack_id": "U1", "timezone": "Asia/Tokyo"}),
        ("berlin", {"slack_id": "U2"}),
        ("la", {"slack_id": "U3"}),
    ):
        ids[login] = app.call(add_user, db, login, metadata=metadata)
        app.call(add_request, db, pr, ids[login], THURSDAY)
    return app, ids


def test_each_person_is_reminded_once_per_local_working_day_at_their_time(
    three_zones, fake_slack
) -> None:
    app, _ = three_zones
    sent: list[tuple[str, datetime]] = []
    now = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)  # Friday noon UTC
    while now <= datetime(2026, 1, 13, 12, 0, tzinfo=UTC):  # to Tuesday noon UTC
        before = len(fake_slack.calls_to("chat.postMessage"))
        app.scheduled(now)
        sent += [(c.args["channel"], now) for c in fake_slack.calls_to("chat.postMessage")[before:]]
        now += timedelta(minutes=30)

    def utc(day: int, hour: int, minute: int = 30) -> datetime:
        return datetime(2026, 1, day, hour, minute, tzinfo=UTC)

    # 15:30 on each person's working days; none on anyone's Saturday or Sunday.
    assert sorted(sent) == sorted(
        [
            ("U1", utc(12, 6)),  # Monday 15:30 in Tokyo
            ("U1", utc(13, 6)),  # Tuesday 15:30 in Tokyo
            ("U2", utc(9, 14)),  # Friday 15:30 in Berlin
            ("U2", utc(12, 14)),  # Monday 15:30 in Berlin
            ("U3", utc(9, 23)),  # Friday 15:30 in Los Angeles
            ("U3", utc(12, 23)),  # Monday 15:30 in Los Angeles
        ]
    )
    # Berlin's zone came from Slack's profile, asked once (cached) however often it woke.
    assert [c.args["user"] for c in fake_slack.calls_to("users.info")].count("U2") == 1


def test_a_dry_run_says_per_person_their_zone_and_why_not(three_zones, fake_slack) -> None:
    app, ids = three_zones
    monday_5pm_berlin = datetime(2026, 1, 12, 16, 0, tzinfo=UTC)
    summary = app.remind(monday_5pm_berlin, dry_run=True)
    assert [p.line() for p in summary.people] == [
        "tokyo: Asia/Tokyo (metadata), Tue 01:00, not now: outside working hours (01:00 local)",
        "berlin: Europe/Berlin (Slack), Mon 17:00, due now",
        "la: America/Los_Angeles (TIMEZONE), Mon 08:00, not now: outside working hours "
        "(08:00 local)",
    ]
    assert [o.target for o in summary.messages] == ["U2"]

    app.remind(monday_5pm_berlin)  # berlin reminded for real
    app.client.patch(
        f"/v1/users/{ids['la']}",
        json={"metadata": {"snooze_until": "2026-01-14T09:00:00-08:00"}},
        headers=AUTH,
    )
    saturday = datetime(2026, 1, 17, 12, 0, tzinfo=UTC)
    berlin_late = app.remind(monday_5pm_berlin + timedelta(minutes=30), dry_run=True)
    la_morning = app.remind(monday_5pm_berlin + timedelta(hours=3), dry_run=True)  # 11:00 LA
    weekend = app.remind(saturday, dry_run=True)
    assert [p.why_not for p in berlin_late.people] == [
        "outside working hours (01:30 local)",
        "already reminded on 2026-01-12",
        "outside working hours (08:30 local)",
    ]
    assert la_morning.people[2].why_not == "snoozed until 2026-01-14T09:00-08:00"
    assert {p.why_not for p in weekend.people} == {"not a working day (Saturday)"}
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_ignored_labels_drafts_and_closed_pull_requests_are_left_out(service, fake_slack) -> None:
    app = service(REMINDER_IGNORE_LABELS="WIP, on hold")
    db = app.db
    project = app.call(add_project, db)
    alice = app.call(add_user, db, "alice", metadata={"slack_id": "U1"})
    for number, title, extra in (
        (1, "Labelled wip", {"labels": ["wip"]}),
        (2, "Labelled On Hold", {"labels": ["bug", "On Hold"]}),
        (3, "A draft", {"draft": True}),
        (4, "Closed", {"state": "closed"}),
        (5, "Labelled bug", {"labels": ["bug"]}),
    ):
        pr = app.call(add_pull_request, db, project, None, number, title=title, **extra)
        app.call(add_request, db, pr, alice, THURSDAY)

    app.remind(datetime(2026, 1, 8, 12, 0, tzinfo=UTC))

    [(target, text)] = dms(fake_slack)
    assert target == "U1"
    assert "Labelled bug" in text
    assert all(t not in text for t in ("wip", "On Hold", "A draft", "Closed"))


def test_idle_time_counts_working_hours_only(service, fake_slack) -> None:
    app = service(TIMEZONE="Europe/Berlin", REMINDER_MIN_IDLE_HOURS="4")
    db = app.db
    project = app.call(add_project, db)
    alice = app.call(add_user, db, "alice", metadata={"slack_id": "U1"})
    pr = app.call(add_pull_request, db, project, None, 1)
    app.call(add_request, db, pr, alice, datetime(2026, 1, 9, 15, 0, tzinfo=UTC))  # Fri 16:00

    monday_10_30 = datetime(2026, 1, 12, 9, 30, tzinfo=UTC)  # 2 h Friday + 1.5 h Monday
    early = app.remind(monday_10_30)
    assert early.skipped_why == {"alice": "nothing idle for 4 working hours yet"}
    assert app.remind(monday_10_30 + timedelta(minutes=30)).sent == 1  # 4 working hours
    assert [target for target, _ in dms(fake_slack)] == ["U1"]


def test_snooze_until_tomorrow_by_button_then_reminders_wait(service, fake_slack) -> None:
    app = service(TIMEZONE="America/Los_Angeles")
    db = app.db
    project = app.call(add_project, db)
    la = app.call(add_user, db, "la", metadata={"slack_id": "U3"})
    pr = app.call(add_pull_request, db, project, None, 1)
    app.call(add_request, db, pr, la, THURSDAY)

    tuesday = datetime(2026, 1, 13, 23, 30, tzinfo=UTC)  # 15:30 in Los Angeles
    assert app.scheduled(tuesday).sent == 1
    [dm] = fake_slack.calls_to("chat.postMessage")
    blocks = dm.json_arg("blocks")
    [button] = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert (button["action_id"], button["value"], button["text"]["text"]) == (
        SNOOZE_ACTION,
        str(la),
        "Snooze until tomorrow",
    )
    message = {"ts": "1700000000.000100", "text": dm.args["text"], "blocks": blocks}

    # Someone else clicking changes nothing and is told so privately.
    body, headers = button_click("", SNOOZE_ACTION, str(la), "U9", "D3", message)
    assert app.client.post("/slack/events", content=body, headers=headers).status_code == 200
    wait_for(lambda: len(fake_slack.calls_to("chat.postEphemeral")) == 1)
    assert "snooze_until" not in app.user(la)["metadata"]

    body, headers = button_click("", SNOOZE_ACTION, str(la), "U3", "D3", message)
    assert app.client.post("/slack/events", content=body, headers=headers).status_code == 200
    wait_for(lambda: len(fake_slack.calls_to("chat.update")) == 1)
    # Until their next working morning, in their zone.
    assert app.user(la)["metadata"]["snooze_until"] == "2026-01-14T09:00:00-08:00"
    update = fake_slack.calls_to("chat.update")[0]
    assert (update.args["channel"], update.args["ts"]) == ("D3", "1700000000.000100")
    shown = update.json_arg("blocks")
    assert not any(b["type"] == "actions" for b in shown)
    assert shown[:-1] == [b for b in blocks if b["type"] != "actions"]
    assert shown[-1]["elements"][0]["text"] == (
        "Snoozed until Wed 14 Jan 09:00 (America/Los_Angeles)."
    )

    # A longer snooze by PATCH holds Wednesday's reminder; Thursday's goes.
    answer = app.client.patch(
        f"/v1/users/{la}",
        json={"metadata": {"snooze_until": "2026-01-15T12:00:00-08:00"}},
        headers=AUTH,
    )
    assert answer.status_code == 204
    wednesday = app.scheduled(tuesday + timedelta(days=1))
    assert wednesday.skipped_why == {"la": "snoozed until 2026-01-15T12:00-08:00"}
    assert app.scheduled(tuesday + timedelta(days=2)).sent == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


def test_patch_validates_the_reminder_keys_and_null_clears_them(service) -> None:
    app = service()
    user = app.call(add_user, app.db, "alice", metadata={"slack_id": "U1"})
    for metadata, problem in (
        ({"snooze_until": "tomorrow"}, "snooze_until must be an ISO 8601 date or time"),
        ({"snooze_until": 42}, "snooze_until must be an ISO 8601 date or time"),
        ({"timezone": "Mars/Olympus"}, "timezone must be an IANA time zone name"),
        ({"timezone": "../etc/passwd"}, "timezone must be an IANA time zone name"),
        ({"realtime": "yes please"}, "realtime must be true or false"),
    ):
        answer = app.client.patch(f"/v1/users/{user}", json={"metadata": metadata}, headers=AUTH)
        assert answer.status_code == 400, metadata
        assert list(answer.json()["errors"]) == ["metadata"]
        assert answer.json()["errors"]["metadata"].startswith(problem)
    assert app.user(user)["metadata"] == {"slack_id": "U1"}

    good = {"snooze_until": "2026-01-14", "timezone": "Asia/Tokyo", "realtime": True}
    assert (
        app.client.patch(f"/v1/users/{user}", json={"metadata": good}, headers=AUTH).status_code
        == 204
    )
    assert app.user(user)["metadata"] == {"slack_id": "U1", **good}
    cleared = {"snooze_until": None, "timezone": None, "realtime": None}
    app.client.patch(f"/v1/users/{user}", json={"metadata": cleared}, headers=AUTH)
    assert app.user(user)["metadata"] == {"slack_id": "U1"}


def test_a_request_idle_long_enough_is_escalated_once_a_day(service, fake_slack) -> None:
    app = service(REMINDER_ESCALATE_DAYS="2")
    db = app.db
    project = app.call(add_project, db)
    alice = app.call(add_user, db, "alice", metadata={"slack_id": "U1", "reminders": False})
    carol = app.call(add_user, db, "carol")
    old = app.call(add_pull_request, db, project, None, 1, title="Old and waiting")
    new = app.call(add_pull_request, db, project, None, 2, title="Fresh")
    app.call(add_request, db, old, alice, datetime(2026, 1, 5, 9, 0, tzinfo=UTC))  # Monday
    app.call(add_request, db, old, carol, datetime(2026, 1, 7, 9, 0, tzinfo=UTC))  # Wednesday
    app.call(add_request, db, new, alice, datetime(2026, 1, 8, 9, 0, tzinfo=UTC))  # Thursday

    def escalated() -> list[str]:
        return [
            c.args["text"]
            for c in fake_slack.calls_to("chat.postMessage")
            if c.args["text"].startswith("Waiting")
        ]

    thursday = datetime(2026, 1, 8, 15, 30, tzinfo=UTC)
    app.scheduled(thursday - timedelta(minutes=30))  # before the team's reminder time
    assert escalated() == []
    app.scheduled(thursday)
    app.scheduled(thursday + timedelta(minutes=30))
    [message] = escalated()
    assert message.startswith("Waiting 2 working days or more for review:\n")
    # Alice (opted out of her own reminders) is still named: escalation is the team's view.
    assert "Old and waiting" in message and "<@U1>, 3 working days" in message
    assert "@carol" not in message  # 1.7 working days
    assert "Fresh" not in message
    assert len(app.call(db.fetch_all, escalations.select())) == 1

    app.scheduled(thursday + timedelta(days=1))  # Friday: named again, carol too now
    assert len(escalated()) == 2
    assert "@carol, 2 working days" in escalated()[1]


def test_a_realtime_dm_goes_once_per_review_request(service, fake_slack) -> None:
    app = service()
    db = app.db
    octocat = app.call(
        add_user,
        db,
        "octocat",
        github_id=OCTOCAT["id"],
        metadata={"realtime": True, "slack_id": "UOCT"},
    )
    app.call(
        add_user,
        db,
        "hubot",
        github_id=HUBOT["id"],
        metadata={"realtime": True, "slack_id": "UHUB", "snooze_until": "2099-01-01"},
    )
    app.call(
        add_user,
        db,
        "Codertocat",
        github_id=AUTHOR["id"],
        metadata={"realtime": True, "slack_id": "UAUTHOR"},
    )
    mona, lisa = github_user("mona", 77), github_user("lisa", 78)
    app.call(
        add_user,
        db,
        "mona",
        github_id=mona["id"],
        metadata={"realtime": True, "slack_id": "UMONA", "reminders": False},
    )
    app.call(
        add_user,
        db,
        "lisa",
        github_id=lisa["id"],
        metadata={"realtime": "true", "email": "lisa@x.io"},
    )
    fake_slack.add_user("lisa@x.io", "ULISA")
    app.at(THURSDAY)
    opened = PullRequest(901, 7, THURSDAY, title="Add a realtime test")
    requested = opened.but(updated_at=THURSDAY + timedelta(minutes=1), reviewers=(OCTOCAT,))
    event = pull_request_event("review_requested", requested, requested_reviewer=OCTOCAT)

    assert (
        deliver(app.client, "pull_request", pull_request_event("opened", opened)).status_code == 200
    )
    assert dms(fake_slack) == []
    assert deliver(app.client, "pull_request", event, guid="req-1").json()["detail"] == "applied"
    [(target, text)] = dms(fake_slack)
    assert target == "UOCT"
    assert text.startswith(
        "Your review was requested: Add a realtime test (Codertocat/Hello-World #7"
    )
    [dm] = fake_slack.calls_to("chat.postMessage")
    assert any(b["type"] == "actions" for b in dm.json_arg("blocks"))  # snooze button

    # The same GUID again, the same event under a new GUID, a later edit: no second DM.
    assert deliver(app.client, "pull_request", event, guid="req-1").json()["detail"] == "duplicate"
    assert deliver(app.client, "pull_request", event, guid="req-2").json()["detail"] == "applied"
    edited = requested.but(updated_at=THURSDAY + timedelta(minutes=2), title="Renamed")
    deliver(app.client, "pull_request", pull_request_event("edited", edited))
    # And the durable record refuses the request itself, whoever asks again (a poll).
    [notice] = app.call(db.fetch_all, realtime_notices.select())
    again = [(notice["pull_request_id"], octocat)]
    assert app.call(realtime.announce, app.state, again) == 0
    assert len(dms(fake_slack)) == 1

    # A re-request is a new request; a snoozed reviewer, one opted out and the author hear
    # nothing; one known by email is found on Slack.
    rerequested = edited.but(
        updated_at=THURSDAY + timedelta(minutes=3), reviewers=(OCTOCAT, HUBOT, AUTHOR, mona, lisa)
    )
    deliver(
        app.client,
        "pull_request",
        pull_request_event("review_requested", rerequested, requested_reviewer=OCTOCAT),
    )
    assert sorted(target for target, _ in dms(fake_slack)) == ["ULISA", "UOCT", "UOCT"]


def test_slack_down_does_not_fail_the_webhook_and_keeps_no_notice(service, fake_slack) -> None:
    app = service()
    db = app.db
    app.call(
        add_user,
        db,
        "octocat",
        github_id=OCTOCAT["id"],
        metadata={"realtime": True, "slack_id": "UOCT"},
    )
    fake_slack.fail_method("chat.postMessage", "internal_error")
    app.at(THURSDAY)
    pr = PullRequest(902, 8, THURSDAY, reviewers=(OCTOCAT,))
    answer = deliver(
        app.client,
        "pull_request",
        pull_request_event("review_requested", pr, requested_reviewer=OCTOCAT),
    )
    assert answer.status_code == 200 and answer.json()["detail"] == "applied"
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # tried, failed
    assert app.call(db.fetch_all, realtime_notices.select()) == []


def test_the_app_home_shows_the_queue_and_refreshes_on_each_open(service, fake_slack) -> None:
    app = service()
    db = app.db
    project = app.call(add_project, db, "docker", "cli")
    alice = app.call(add_user, db, "alice", metadata={"slack_id": "U1"})
    bob = app.call(add_user, db, "bob")
    carol = app.call(add_user, db, "carol")
    bobs = app.call(add_pull_request, db, project, bob, 1, title="Bob's change")
    alices = app.call(add_pull_request, db, project, alice, 2, title="Alice's change")
    app.call(add_request, db, bobs, alice, THURSDAY)
    app.call(add_request, db, alices, carol, THURSDAY + timedelta(hours=2))
    app.at(THURSDAY + timedelta(days=1))

    def open_home(user: str) -> dict:
        published = len(fake_slack.calls_to("views.publish"))
        body, headers = app_home_opened(user)
        assert app.client.post("/slack/events", content=body, headers=headers).status_code == 200
        wait_for(lambda: len(fake_slack.calls_to("views.publish")) == published + 1)
        call = fake_slack.calls_to("views.publish")[-1]
        assert call.args["user_id"] == user
        return call.json_arg("view")

    view = open_home("U1")
    assert view["type"] == "home"
    text = json.dumps(view)
    assert "Waiting on you (1)" in text and "Yours, waiting on others (1)" in text
    assert "Bob's change" in text and "by bob, waiting 1 day" in text
    assert "Alice's change" in text and "waiting on @carol 22 hours" in text

    app.call(add_request, db, alices, bob, THURSDAY + timedelta(hours=20))
    again = json.dumps(open_home("U1"))
    assert "waiting on @carol 22 hours, @bob 4 hours" in again

    unknown = json.dumps(open_home("U9"))
    assert "does not know your GitHub account" in unknown and "U9" in unknown

    # Known by the email of their Slack profile: shown their queue, their slack_id kept.
    dana = app.call(add_user, db, "dana", metadata={"email": "Dana@Example.com"})
    app.call(add_request, db, alices, dana, THURSDAY)
    fake_slack.set_profile("U7", profile={"email": "dana@example.com"})
    assert "Alice's change" in json.dumps(open_home("U7"))
    assert app.user(dana)["metadata"] == {"email": "Dana@Example.com", "slack_id": "U7"}


def test_without_slack_no_realtime_dm_is_tried(make_settings) -> None:
    with TestClient(create_app(make_settings())) as client:
        state = client.app.state
        call = client.portal.call
        user = call(partial(add_user, state.db, "octocat", metadata={"realtime": True}))
        made = [(1, user)]
        assert call(realtime.announce, state, made) == 0
        assert call(state.db.fetch_all, sa.select(realtime_notices.c.id)) == []
