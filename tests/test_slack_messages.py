"""The reminder messages, built without Slack or a database."""

from datetime import timedelta

import pytest

from bot.slack.messages import (
    MAX_PULL_REQUESTS_PER_DM,
    MAX_PULL_REQUESTS_PER_USER_IN_CHANNEL,
    IdlePullRequest,
    channel_message,
    escape,
    idle_dm,
    waited,
)


def pr(
    number: int, waiting: timedelta, author: str | None = "bob", title: str = ""
) -> IdlePullRequest:
    return IdlePullRequest(
        title=title or f"PR {number}",
        url=f"https://github.com/o/r/pull/{number}",
        number=number,
        repository="o/r",
        author=author,
        waiting=waiting,
    )


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=30), "less than a minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=59, seconds=59), "59 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=23, minutes=59), "23 hours"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=12, hours=23), "12 days"),
        (timedelta(seconds=-5), "less than a minute"),  # a clock a little behind
    ],
)
def test_waited(delta, text) -> None:
    assert waited(delta) == text


def test_escape_leaves_no_control_characters() -> None:
    assert escape("a <b> & <!channel>") == "a &lt;b&gt; &amp; &lt;!channel&gt;"


def test_a_title_cannot_mention_the_channel_or_break_the_link() -> None:
    message = idle_dm([pr(1, timedelta(days=1), title="<!channel> see |here>")])
    assert "<!channel>" not in message.text
    link = message.blocks[1]["text"]["text"]
    assert link.startswith("*<https://github.com/o/r/pull/1|&lt;!channel&gt; see |here&gt;>*")


def test_a_dm_lists_the_longest_waiting_first_and_names_no_author_when_gone() -> None:
    message = idle_dm([pr(1, timedelta(hours=3)), pr(2, timedelta(days=2), author=None)])
    assert message.text.splitlines() == [
        "2 pull requests waiting for your review:",
        "• PR 2 (o/r #2, waiting 2 days) https://github.com/o/r/pull/2",
        "• PR 1 (o/r #1 by bob, waiting 3 hours) https://github.com/o/r/pull/1",
    ]
    assert message.blocks[0]["text"]["text"] == "*2 pull requests waiting for your review*"


def test_a_long_dm_stays_inside_slacks_block_limit() -> None:
    count = MAX_PULL_REQUESTS_PER_DM + 7
    message = idle_dm([pr(n, timedelta(hours=n)) for n in range(1, count + 1)])
    assert len(message.blocks) <= 50
    assert message.blocks[-1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "…and 7 more"}],
    }
    assert message.text.splitlines()[0] == f"{count} pull requests waiting for your review:"
    assert message.text.endswith("…and 7 more")


def test_the_channel_message_names_logins_in_order_and_caps_each_list() -> None:
    many = [pr(n, timedelta(hours=n)) for n in range(1, MAX_PULL_REQUESTS_PER_USER_IN_CHANNEL + 3)]
    message = channel_message({"zed": [pr(1, timedelta(days=1))], "Amy": many})
    names = [b["text"]["text"].split("\n")[0] for b in message.blocks if b["type"] == "section"]
    assert names == [
        "*Pull requests waiting for review*",
        f"*@Amy ({len(many)} pull requests)*",
        "*@zed (1 pull request)*",
    ]
    amy = message.blocks[1]["text"]["text"].split("\n")
    assert len(amy) == 1 + MAX_PULL_REQUESTS_PER_USER_IN_CHANNEL + 1
    assert amy[-1] == "…and 2 more"
    assert "  …and 2 more" in message.text.splitlines()
