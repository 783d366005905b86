"""Property: deliveries for one pull request, shuffled and repeated, end in the ordered state.

GitHub neither orders nor deduplicates deliveries. Whatever order the story below
arrives in, with copies under the same GUID (GitHub's redelivery) or a new one
(the same change told twice), the read API must show what the ordered story shows.
"""

from __future__ import annotations

import itertools
import os
import uuid
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from bot.store.tables import pull_requests, review_requests, users
from tests.factories import at
from tests.github_events import (
    HUBOT,
    OCTOCAT,
    PullRequest,
    github_team,
    pull_request_event,
    review_event,
)
from tests.webhook_client import deliver

Delivery = tuple[str, dict[str, Any]]  # (event, payload)

_numbers = itertools.count(100)


def story(github_id: int, number: int) -> list[Delivery]:
    """A pull request's life in deliveries, each one second of story time apart."""
    out: list[Delivery] = []
    pr = PullRequest(github_id, number, at(0), reviewers=(OCTOCAT,), labels=("bug",))
    octocat_review = github_id * 10 + 1
    hubot_review = github_id * 10 + 2

    def pr_event(action: str, **extra: Any) -> None:
        out.append(("pull_request", pull_request_event(action, pr, **extra)))

    def next_pr(**changes: Any) -> PullRequest:
        return pr.but(updated_at=at(len(out) + 1), **changes)

    pr = next_pr()
    pr_event("opened")
    pr = next_pr(title="A better title")
    pr_event("edited", changes={"title": {"from": "Update the README with new information."}})
    pr = next_pr(labels=("bug", "needs-review"))
    pr_event("labeled", label={"name": "needs-review"})
    pr = next_pr(reviewers=(OCTOCAT, HUBOT))
    pr_event("review_requested", requested_reviewer=HUBOT)
    pr = next_pr(teams=("core",))
    pr_event("review_requested", requested_team=github_team("core"))
    pr = next_pr(reviewers=(HUBOT,))
    approved_at = pr.updated_at
    out.append(
        (
            "pull_request_review",
            review_event("submitted", pr, octocat_review, OCTOCAT, "approved", approved_at),
        )
    )
    pr = next_pr(draft=True)
    pr_event("converted_to_draft")
    pr = next_pr(state="closed", closed_at=at(len(out) + 1))
    pr_event("closed")
    pr = next_pr(state="open", closed_at=None)
    pr_event("reopened")
    pr = next_pr(reviewers=())
    pr_event("review_request_removed", requested_reviewer=HUBOT)
    pr = next_pr()
    out.append(
        (
            "pull_request_review",
            review_event("submitted", pr, hubot_review, HUBOT, "commented", pr.updated_at),
        )
    )
    pr = next_pr(reviewers=(HUBOT,))
    pr_event("review_requested", requested_reviewer=HUBOT)
    pr = next_pr()
    out.append(
        (
            "pull_request_review",
            review_event("dismissed", pr, octocat_review, OCTOCAT, "dismissed", approved_at),
        )
    )
    pr = next_pr(draft=False)
    pr_event("ready_for_review")
    pr = next_pr(labels=("needs-review",))
    pr_event("unlabeled", label={"name": "bug"})
    pr = next_pr()
    pr_event("synchronize", before="abc", after="def")
    return out


def final_state(client: TestClient, run, db, github_id: int) -> dict[str, Any]:
    """The pull request through the read API, without what differs between stories."""
    pr_id = run(
        db.fetch_val,
        sa.select(pull_requests.c.id).where(pull_requests.c.github_id == github_id),
    )
    body = client.get(f"/v1/pull_requests/{pr_id}?details=true").json()
    for key in ("id", "github_id", "number", "url"):
        del body[key]

    async def requests():
        rows = await db.fetch_all(
            sa.select(users.c.username, review_requests.c.team_slug)
            .select_from(review_requests.outerjoin(users, users.c.id == review_requests.c.user_id))
            .where(
                review_requests.c.pull_request_id == pr_id,
                review_requests.c.removed_at.is_(None),
            )
        )
        return sorted(str(r["username"] or "team:" + r["team_slug"]) for r in rows)

    body["open_requests"] = run(requests)
    return body


def play(client: TestClient, deliveries: list[tuple[Delivery, str]]) -> None:
    for (event, data), guid in deliveries:
        answer = deliver(client, event, data, guid=guid)
        assert answer.status_code in (200, 202), answer.text


@st.composite
def arrivals(draw: st.DrawFn, size: int) -> list[tuple[int, bool]]:
    """An arrival order: (story index, same GUID as the first copy?) with some copies."""
    order = [(i, True) for i in range(size)]
    copies = draw(st.lists(st.tuples(st.integers(0, size - 1), st.booleans()), max_size=size))
    return draw(st.permutations(order + copies))


def test_shuffled_and_repeated_deliveries_reach_the_ordered_state(client: TestClient, run, db):
    expected_id = next(_numbers)
    ordered = story(expected_id, expected_id)
    play(client, [(d, str(uuid.uuid4())) for d in ordered])
    expected = final_state(client, run, db, expected_id)
    # The story ends where it should, so the property compares something real.
    assert expected["title"] == "A better title"
    assert (expected["state"], expected["draft"], expected["labels"]) == (
        "open",
        False,
        ["needs-review"],
    )
    assert (expected["approvers"], expected["commenters"], expected["idlers"]) == (
        [],
        ["hubot"],
        ["hubot"],
    )
    assert expected["open_requests"] == ["hubot", "team:core"]

    @settings(
        # Modest by default (seconds on both backends); raise it to search harder.
        max_examples=int(os.environ.get("WEBHOOK_PROPERTY_EXAMPLES", "12")),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(arrivals(len(ordered)))
    def check(order: list[tuple[int, bool]]) -> None:
        github_id = next(_numbers)
        deliveries = story(github_id, github_id)
        guids = [str(uuid.uuid4()) for _ in deliveries]
        play(
            client, [(deliveries[i], guids[i] if same else str(uuid.uuid4())) for i, same in order]
        )
        assert final_state(client, run, db, github_id) == expected

    check()
