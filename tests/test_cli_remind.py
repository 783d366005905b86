"""`reviewer remind [--dry-run]`, run through `bot.cli.main` with settings from the environment."""

from __future__ import annotations

import logging
import re

import pytest

from bot.cli import main
from tests.factories import T0, add_project, add_pull_request, add_request, add_user

CHANNEL = "#reviews"


@pytest.fixture
def settings(make_settings, fake_slack):
    return make_settings(**fake_slack.env(SLACK_CHANNEL=CHANNEL))


@pytest.fixture
def environment(monkeypatch, tmp_path, database_url, fake_slack):
    """The process environment `reviewer` reads; returns a function to set more of it."""
    monkeypatch.chdir(tmp_path)  # no stray .env
    env = {
        "DATABASE_URL": database_url,
        "SCHEDULER": "off",
        "LOG_LEVEL": "WARNING",
        # The commands run on the wall clock: every hour of every day is a working one.
        "REMINDER_WORKING_HOURS": "00:00-24:00",
        "REMINDER_WORKING_DAYS": "0-6",
    }
    for name, value in {**env, **fake_slack.env(SLACK_CHANNEL=CHANNEL)}.items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield monkeypatch
    root.handlers[:] = handlers  # main() points logging at the captured stdout
    root.setLevel(level)


@pytest.fixture
def idle(run, db):
    project = run(add_project, db, "docker", "cli")
    alice = run(add_user, db, "alice", metadata={"slack_id": "U1"})
    carol = run(add_user, db, "carol")
    pr = run(add_pull_request, db, project, None, 7, title="Fix prune warning")
    run(add_request, db, pr, alice, T0)
    run(add_request, db, pr, carol, T0)


def output(capsys) -> list[str]:
    """Printed lines, without the JSON log lines that share standard output."""
    return [line for line in capsys.readouterr().out.splitlines() if not line.startswith("{")]


def test_dry_run_prints_each_message_and_target_and_sends_nothing(
    environment, idle, fake_slack, capsys
) -> None:
    assert main(["remind", "--dry-run"]) == 0
    lines = output(capsys)
    assert re.fullmatch(r"alice: UTC \(TIMEZONE\), \w{3} \d\d:\d\d, due now", lines[0])
    assert re.fullmatch(r"carol: UTC \(TIMEZONE\), \w{3} \d\d:\d\d, due now", lines[1])
    assert lines[2] == "--- to U1 (alice)"
    assert lines[3] == "1 pull request waiting for your review:"
    assert lines[4].startswith("• Fix prune warning (docker/cli #7, waiting ")
    assert "--- to #reviews (carol)" in lines
    assert "@carol (1 pull request):" in lines
    assert lines[-1].endswith("would send 2 message(s); reviewers reminded 0, failed 0, skipped 0")
    assert fake_slack.calls_to("chat.postMessage") == []


def test_remind_sends_once_a_day(environment, idle, fake_slack, capsys) -> None:
    assert main(["remind"]) == 0
    assert [c.args["channel"] for c in fake_slack.calls_to("chat.postMessage")] == ["U1", CHANNEL]
    assert output(capsys)[-1].endswith(
        "sent 2 message(s); reviewers reminded 2, failed 0, skipped 0"
    )

    fake_slack.reset()
    assert main(["remind"]) == 0
    lines = output(capsys)
    assert fake_slack.calls_to("chat.postMessage") == []
    assert lines[0].startswith("skipped alice: already reminded on ")
    assert lines[-1].endswith("sent 0 message(s); reviewers reminded 0, failed 0, skipped 2")


def test_a_failed_message_is_reported_and_fails_the_command(
    environment, idle, fake_slack, capsys
) -> None:
    fake_slack.fail_channel("U1", "user_not_found")
    assert main(["remind"]) == 1
    lines = output(capsys)
    assert "failed: U1 (alice): user_not_found" in lines
    assert lines[-1].endswith("sent 1 message(s); reviewers reminded 1, failed 1, skipped 0")


def test_without_slack_remind_says_so(environment, idle, capsys) -> None:
    environment.delenv("SLACK_BOT_TOKEN")
    assert main(["remind"]) == 1
    assert "Slack is off" in capsys.readouterr().err
