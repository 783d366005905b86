"""IdlersReminder against stored pull requests and the fake Slack Web API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from bot.app import create_app
from bot.jobs.reminders import remind_idlers
from bot.slack.messages import snooze_actions
from bot.store.tables import reminders
from tests.factories import T0, add_project, add_pull_request, add_request, add_review, add_user, at

NOW = T0 + timedelta(days=3, hours=2)  # 2026-01-08 11:00 UTC
CHANNEL = "#reviews"
HINT = {
    "type": "context",
    "elements": [
        {
            "type": "mrkdwn",
            "text": "Add your Slack member ID to your Reviewer user "
            '(`PATCH /v1/users/{id}` with `{"metadata": {"slack_id": "U…"}}`) '
            "to get these as a direct message.",
        }
    ],
}


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.fixture
def settings(make_settings, fake_slack):
    return make_settings(**fake_slack.env(SLACK_CHANNEL=CHANNEL))


@pytest.fixture
def clock(client: TestClient):
    """Set the app's "now": `clock(datetime)`."""

    def set_now(now: datetime) -> None:
        client.app.state.clock = lambda: now

    set_now(NOW)
    return set_now


@pytest.fixture
def remind(run, client, clock):
    def call(**kwargs):
        return run(remind_idlers, client.app.state, **kwargs)

    return call


@pytest.fixture
def team(run, db):
    """Two projects, an author, and reviewers of every kind, with idle and non-idle requests."""
    cli = run(add_project, db, "docker", "cli")
    k8s = run(add_project, db, "kubernetes", "kubernetes")
    ids = {
        "bob": run(add_user, db, "bob"),
        "alice": run(add_user, db, "alice", metadata={"slack_id": "U1"}),
        "carol": run(add_user, db, "carol"),
        "dave": run(add_user, db, "dave", metadata={"slack_id": "U4", "reminders": False}),
        "eve": run(add_user, db, "eve", metadata={"slack_id": "U5"}),
    }

    def pr(project, number, title, **kw):
        repo = "docker/cli" if project == cli else "kubernetes/kubernetes"
        url = f"https://github.com/{repo}/pull/{number}"
        return run(add_pull_request, db, project, ids["bob"], number, title=title, url=url, **kw)

    ids["pr11"] = pr(cli, 11, "Fix prune warning")
    ids["pr12"] = pr(cli, 12, "Bump Go <1.22> & more")
    ids["pr13"] = pr(cli, 13, "Draft: rework the CLI", draft=True)
    ids["pr14"] = pr(cli, 14, "Closed already", state="closed")
    ids["pr21"] = pr(k8s, 21, "Remove redundant if")
    run(add_request, db, ids["pr11"], ids["alice"], T0)
    run(add_request, db, ids["pr12"], ids["alice"], at(3 * 24 * 60))
    run(add_request, db, ids["pr13"], ids["alice"], T0)  # draft: left out
    run(add_request, db, ids["pr14"], ids["alice"], T0)  # closed: not idle
    run(add_request, db, ids["pr21"], ids["carol"], at(60))
    run(add_request, db, ids["pr21"], ids["dave"], T0)  # opted out
    run(add_request, db, ids["pr11"], ids["eve"], T0)
    run(add_review, db, ids["pr11"], ids["eve"], "APPROVED", at(30))  # reviewed: not idle
    return ids


ALICE_TEXT = (
    "2 pull requests waiting for your review:\n"
    "• Fix prune warning (docker/cli #11 by bob, waiting 3 days) "
    "https://github.com/docker/cli/pull/11\n"
    "• Bump Go &lt;1.22&gt; &amp; more (docker/cli #12 by bob, waiting 2 hours) "
    "https://github.com/docker/cli/pull/12"
)
ALICE_BLOCKS = [
    section("*2 pull requests waiting for your review*"),
    section(
        "*<https://github.com/docker/cli/pull/11|Fix prune warning>*\n"
        "`docker/cli` #11 by bob · waiting 3 days"
    ),
    section(
        "*<https://github.com/docker/cli/pull/12|Bump Go &lt;1.22&gt; &amp; more>*\n"
        "`docker/cli` #12 by bob · waiting 2 hours"
    ),
]
CAROL_TEXT = (
    "Pull requests waiting for review:\n"
    "@carol (1 pull request):\n"
    "  • Remove redundant if (kubernetes/kubernetes #21 by bob, waiting 3 days) "
    "https://github.com/kubernetes/kubernetes/pull/21"
)
CAROL_BLOCKS = [
    section("*Pull requests waiting for review*"),
    section(
        "*@carol (1 pull request)*\n"
        "• <https://github.com/kubernetes/kubernetes/pull/21|Remove redundant if> "
        "(kubernetes/kubernetes #21 by bob, waiting 3 days)"
    ),
    HINT,
]


def posts(fake_slack) -> list[tuple[str, str]]:
    return [(c.args["channel"], c.args["text"]) for c in fake_slack.calls_to("chat.postMessage")]


def test_one_dm_per_known_user_and_the_channel_for_the_rest(remind, db, team, fake_slack) -> None:
    queries = db.query_count
    summary = remind()
    # One query finds every idler, one reads today's reminders, one claim per reminded user.
    assert db.query_count - queries == 2 + 2

    assert posts(fake_slack) == [("U1", ALICE_TEXT), (CHANNEL, CAROL_TEXT)]
    dm, channel = fake_slack.calls_to("chat.postMessage")
    assert dm.json_arg("blocks") == [*ALICE_BLOCKS, snooze_actions(team["alice"])]
    assert channel.json_arg("blocks") == CAROL_BLOCKS
    assert dm.args["unfurl_links"] is False
    assert {c.token for c in fake_slack.calls} == {"xoxb-test-token"}
    assert (summary.sent, summary.failed, summary.skipped) == (2, 0, 1)
    assert summary.skipped_why == {"dave": "reminders are off in their metadata"}
    assert summary.day == "2026-01-08"


def test_drafts_closed_and_reviewed_pull_requests_are_left_out(
    remind, run, db, team, fake_slack
) -> None:
    gone = run(add_project, db, "old", "repo", active=False)  # left the installation
    stale = run(add_pull_request, db, gone, team["bob"], 5, title="In a removed repository")
    run(add_request, db, stale, team["alice"], T0)

    remind()

    everything = " ".join(text for _, text in posts(fake_slack))
    assert "Fix prune warning" in everything
    assert "Draft: rework" not in everything
    assert "Closed already" not in everything
    assert "In a removed repository" not in everything
    assert "U5" not in [channel for channel, _ in posts(fake_slack)]  # eve reviewed


def test_nothing_idle_sends_nothing(remind, run, db, fake_slack) -> None:
    project = run(add_project, db)
    alice = run(add_user, db, "alice", metadata={"slack_id": "U1"})
    pr = run(add_pull_request, db, project, None, 1)
    run(add_request, db, pr, alice, T0)
    run(add_review, db, pr, alice, "COMMENTED", at(5))
    draft = run(add_pull_request, db, project, None, 2, draft=True)
    run(add_request, db, draft, alice, T0)

    summary = remind()

    assert fake_slack.calls == []
    assert (summary.sent, summary.failed, summary.skipped, summary.messages) == (0, 0, 0, [])


def test_a_rate_limit_is_waited_out_and_the_message_goes(remind, team, fake_slack) -> None:
    fake_slack.rate_limit("chat.postMessage", times=1, retry_after=0)

    summary = remind()

    attempts = fake_slack.calls_to("chat.postMessage", answered=False)
    assert [(c.status, c.args["channel"]) for c in attempts] == [
        (429, "U1"),
        (200, "U1"),
        (200, CHANNEL),
    ]
    assert (summary.sent, summary.failed) == (2, 0)


def test_one_failed_dm_does_not_stop_the_others(remind, run, db, team, fake_slack) -> None:
    frank = run(add_user, db, "frank", metadata={"slack_id": "U6"})
    run(add_request, db, team["pr11"], frank, T0)
    fake_slack.fail_channel("U1", "channel_not_found")

    summary = remind()

    assert [channel for channel, _ in posts(fake_slack)] == ["U1", "U6", CHANNEL]
    assert [(o.target, o.outcome, o.error) for o in summary.messages] == [
        ("U1", "failed", "channel_not_found"),
        ("U6", "sent", None),
        (CHANNEL, "sent", None),
    ]
    assert (summary.sent, summary.failed, summary.skipped) == (2, 1, 1)

    # The failure is not recorded as sent: a second run today retries alice alone.
    fake_slack.reset()
    again = remind()
    assert posts(fake_slack) == [("U1", ALICE_TEXT)]
    assert (again.sent, again.failed) == (1, 0)


def test_a_second_run_the_same_day_sends_nothing(remind, run, db, clock, team, fake_slack) -> None:
    remind()
    fake_slack.reset()

    clock(NOW + timedelta(hours=5))
    again = remind()

    assert fake_slack.calls == []
    assert again.sent == 0
    assert again.skipped_why == {
        "alice": "already reminded on 2026-01-08",
        "carol": "already reminded on 2026-01-08",
        "dave": "reminders are off in their metadata",
    }
    stored = run(db.fetch_all, sa.select(reminders.c.user_id, reminders.c.target))
    assert sorted((r["user_id"], r["target"]) for r in stored) == sorted(
        [(team["alice"], "U1"), (team["carol"], CHANNEL)]
    )

    clock(NOW + timedelta(days=1))  # the next day they are reminded again
    fake_slack.reset()
    assert remind().sent == 2
    assert [channel for channel, _ in posts(fake_slack)] == ["U1", CHANNEL]


def test_the_day_is_the_local_day_of_the_person(make_settings, fake_slack) -> None:
    # In Auckland (UTC+13 in January) 20:00 UTC is 09:00 the next local day.
    settings = make_settings(**fake_slack.env(TIMEZONE="Pacific/Auckland"))
    with TestClient(create_app(settings)) as client:
        db = client.app.state.db
        call = client.portal.call
        project = call(add_project, db)
        alice = call(partial(add_user, db, "alice", metadata={"slack_id": "U1"}))
        pr = call(add_pull_request, db, project, None, 1)
        call(add_request, db, pr, alice, T0 - timedelta(days=3))

        days = []
        for utc in (
            datetime(2026, 1, 4, 20, tzinfo=UTC),  # Mon 5th 09:00 in Auckland
            datetime(2026, 1, 4, 23, tzinfo=UTC),  # Mon 5th 12:00
            datetime(2026, 1, 5, 20, tzinfo=UTC),  # Tue 6th 09:00
        ):
            client.app.state.clock = lambda utc=utc: utc
            summary = call(remind_idlers, client.app.state)
            days.append((summary.day, summary.sent))
        stored = call(db.fetch_all, sa.select(reminders.c.day).order_by(reminders.c.id))
    assert days == [("2026-01-05", 1), ("2026-01-05", 0), ("2026-01-06", 1)]
    assert [row["day"] for row in stored] == ["2026-01-05", "2026-01-06"]


def test_a_slack_id_found_by_email_is_used_and_stored(
    remind, run, db, client, team, fake_slack
) -> None:
    grace = run(add_user, db, "grace", metadata={"email": "Grace@Example.com"})
    heidi = run(add_user, db, "heidi", metadata={"email": "heidi@example.com"})
    run(add_request, db, team["pr21"], grace, at(60))
    run(add_request, db, team["pr21"], heidi, at(60))
    fake_slack.add_user("grace@example.com", "U7")  # heidi is not on Slack

    remind()

    assert [c.args["email"] for c in fake_slack.calls_to("users.lookupByEmail")] == [
        "Grace@Example.com",
        "heidi@example.com",
    ]
    targets = [channel for channel, _ in posts(fake_slack)]
    assert targets == ["U1", "U7", CHANNEL]
    assert "@heidi" in posts(fake_slack)[2][1] and "@carol" in posts(fake_slack)[2][1]
    assert client.get(f"/v1/users/{grace}").json()["metadata"] == {
        "email": "Grace@Example.com",
        "slack_id": "U7",
    }
    assert client.get(f"/v1/users/{heidi}").json()["metadata"] == {"email": "heidi@example.com"}


def test_without_slack_channel_unknown_users_are_skipped(make_settings, fake_slack) -> None:
    with TestClient(create_app(make_settings(**fake_slack.env()))) as client:
        client.app.state.clock = lambda: NOW  # within working hours, whenever it runs
        db = client.app.state.db
        call = client.portal.call
        project = call(add_project, db)
        pr = call(add_pull_request, db, project, None, 1)
        for login, metadata in (("alice", {"slack_id": "U1"}), ("carol", {})):
            user = call(partial(add_user, db, login, metadata=metadata))
            call(add_request, db, pr, user, T0)
        summary = call(remind_idlers, client.app.state)
    assert [c.args["channel"] for c in fake_slack.calls_to("chat.postMessage")] == ["U1"]
    assert summary.skipped_why == {"carol": "no slack_id and no SLACK_CHANNEL"}


def test_without_slack_nothing_is_sent_and_nothing_breaks(make_settings) -> None:
    with TestClient(create_app(make_settings())) as client:
        client.app.state.clock = lambda: NOW  # within working hours, whenever it runs
        db = client.app.state.db
        call = client.portal.call
        project = call(add_project, db)
        pr = call(add_pull_request, db, project, None, 1)
        user = call(partial(add_user, db, "alice", metadata={"slack_id": "U1"}))
        call(add_request, db, pr, user, T0)
        summary = call(remind_idlers, client.app.state)
        assert (summary.sent, summary.skipped) == (0, 1)
        assert summary.skipped_why == {"alice": "Slack is off"}
        # A dry run still shows what would go out.
        dry = call(partial(remind_idlers, client.app.state, dry_run=True))
        assert [(o.target, o.outcome) for o in dry.messages] == [("U1", "dry-run")]


def test_a_dry_run_sends_and_stores_nothing(remind, run, db, team, fake_slack) -> None:
    summary = remind(dry_run=True)

    assert fake_slack.calls_to("chat.postMessage") == []
    assert [(o.target, o.outcome, o.message.text) for o in summary.messages] == [
        ("U1", "dry-run", ALICE_TEXT),
        (CHANNEL, "dry-run", CAROL_TEXT),
    ]
    assert run(db.fetch_all, reminders.select()) == []
    assert remind().sent == 2  # the real run afterwards still sends


def test_two_runs_at_once_remind_each_user_once(run, client, clock, team, fake_slack) -> None:
    async def twice():
        state = client.app.state
        return await asyncio.gather(remind_idlers(state), remind_idlers(state))

    first, second = run(twice)

    assert sorted(channel for channel, _ in posts(fake_slack)) == sorted(["U1", CHANNEL])
    assert first.sent + second.sent == 2
    assert first.failed + second.failed == 0


def test_a_slack_id_that_cannot_be_one_sends_them_to_the_channel(
    remind, run, db, team, fake_slack
) -> None:
    """Metadata is free-form; an overlong slack_id crashed the run on PostgreSQL (the
    claim's target column) and was posted to on SQLite."""
    for login, slack_id in (("ivan", "U" + "X" * 80), ("judy", "U1 U2"), ("ken", 42)):
        user = run(add_user, db, login, metadata={"slack_id": slack_id})
        run(add_request, db, team["pr21"], user, at(60))

    summary = remind()

    assert [channel for channel, _ in posts(fake_slack)] == ["U1", CHANNEL]
    named = posts(fake_slack)[1][1]
    assert all(f"@{login}" in named for login in ("carol", "ivan", "judy", "ken"))
    assert (summary.sent, summary.failed) == (5, 0)


def test_a_long_channel_name_is_kept_cut_to_its_column(make_settings, fake_slack) -> None:
    channel = "#" + "c" * 79  # Slack allows 80 characters; the column holds 64
    with TestClient(create_app(make_settings(**fake_slack.env(SLACK_CHANNEL=channel)))) as client:
        client.app.state.clock = lambda: NOW  # within working hours, whenever it runs
        db = client.app.state.db
        call = client.portal.call
        project = call(add_project, db)
        pr = call(add_pull_request, db, project, None, 1)
        carol = call(add_user, db, "carol")
        call(add_request, db, pr, carol, T0)
        first = call(remind_idlers, client.app.state)
        second = call(remind_idlers, client.app.state)
        stored = call(db.fetch_all, sa.select(reminders.c.target))
    assert [c.args["channel"] for c in fake_slack.calls_to("chat.postMessage")] == [channel]
    assert (first.sent, second.sent) == (1, 0)
    assert [row["target"] for row in stored] == [channel[:64]]
