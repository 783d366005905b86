"""Real-time DMs from the fetchers: a review request first seen by a poll is DMed once."""

from __future__ import annotations

import pytest

from tests.factories import add_user
from tests.fake_github import APP_ID, BASE_URL
from tests.test_sync import DOCKER, app_key, clock, create, github, state, sync

__all__ = ["app_key", "clock", "github", "state"]  # fixtures shared with test_sync


@pytest.fixture
def settings(make_settings, app_key, fake_slack):
    return make_settings(
        GITHUB_APP_ID=APP_ID,
        GITHUB_PRIVATE_KEY=app_key[0],
        GITHUB_API_URL=BASE_URL,
        **fake_slack.env(),
    )


def test_a_request_seen_by_a_poll_is_dmed_once(
    client, auth, run, db, state, github, clock, fake_slack
) -> None:
    repo = github.add_repo("docker", "cli", installation_id=11)
    bob = github.user("bob")
    run(add_user, db, "bob", github_id=bob["id"], metadata={"realtime": True, "slack_id": "UBOB"})
    repo.add_pull(3, "carol", clock.advance(days=-10), requested=("bob",), title="Old news")
    repo.add_pull(
        1, "alice", clock.advance(days=10, hours=-2), requested=("bob",), title="Fix prune"
    )
    repo.add_pull(2, "bob", clock.advance(hours=1), title="Bob's own")
    create(client, auth, DOCKER)

    sync(run, state)
    sync(run, state)  # the next poll sees the same request: no second DM
    # A request the first poll finds ten days old is not news: the daily reminder has it.

    posts = fake_slack.calls_to("chat.postMessage")
    assert [(c.args["channel"], c.args["text"].split(" (")[0]) for c in posts] == [
        ("UBOB", "Your review was requested: Fix prune")
    ]
