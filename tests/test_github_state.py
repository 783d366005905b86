"""Storing GitHub state (shared by webhooks and the poller), on both backends."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from bot.github import parse
from bot.github.shapes import GitHubUser, Repository, Review, Team
from bot.store import github_state as gs
from bot.store.tables import projects, review_requests, reviews, users
from tests.factories import T0, add_project, at
from tests.webhook_client import payload


def test_users_are_keyed_by_github_id_and_renames_update(run, db) -> None:
    async def go():
        first = await gs.upsert_users(db, [GitHubUser(1, "old"), GitHubUser(2, "b")], T0)
        renamed = (await gs.upsert_users(db, [GitHubUser(1, "new")], T0))[1]
        return first, renamed, await db.fetch_all(users.select().order_by(users.c.id))

    first, renamed, rows = run(go)
    assert renamed == first[1]
    assert [(r["github_id"], r["username"], r["metadata"]) for r in rows] == [
        (1, "new", {}),
        (2, "b", {}),
    ]


def test_project_is_matched_by_name_ignoring_case_then_by_github_id(run, db) -> None:
    repo = parse.repository(payload("pull_request/opened")["repository"])

    async def go():
        existing = await add_project(db, "codertocat", "hello-world")
        matched = await gs.upsert_project(db, repo, T0, installation_id=7)
        renamed = await gs.upsert_project(db, replace(repo, name="Hello-Again"), T0)
        return existing, matched, renamed, await db.fetch_all(projects.select())

    existing, matched, renamed, rows = run(go)
    assert matched["id"] == renamed["id"] == existing
    assert len(rows) == 1
    row = rows[0]
    assert (row["name"], row["repo_owner"], row["repo_name"]) == (
        "codertocat/hello-world",  # the name its creator gave stays
        "Codertocat",
        "Hello-Again",
    )
    assert (row["github_id"], row["installation_id"], row["installed"], row["active"]) == (
        186853002,
        7,
        True,
        True,
    )


def test_deactivate_and_suspend_projects(run, db) -> None:
    async def go():
        a = await gs.upsert_project(db, Repository(1, "o", "a"), T0, installation_id=5)
        b = await gs.upsert_project(db, Repository(2, "o", "b"), T0, installation_id=5)
        await gs.deactivate_projects(db, github_ids=[2])
        await gs.set_installation_active(db, 5, False)
        suspended = await db.fetch_all(projects.select().order_by(projects.c.id))
        await gs.set_installation_active(db, 5, True)
        resumed = await db.fetch_all(projects.select().order_by(projects.c.id))
        await gs.deactivate_projects(db, installation_id=5)
        gone = await db.fetch_all(projects.select().order_by(projects.c.id))
        return a, b, suspended, resumed, gone

    _, _, suspended, resumed, gone = run(go)
    assert [(r["active"], r["installed"]) for r in suspended] == [(False, True), (False, False)]
    # Unsuspending does not bring back a repository that left the installation.
    assert [(r["active"], r["installed"]) for r in resumed] == [(True, True), (False, False)]
    assert [(r["active"], r["installed"]) for r in gone] == [(False, False), (False, False)]


def test_an_older_pull_request_never_overwrites_a_newer_one(run, db) -> None:
    pr = parse.pull_request(payload("pull_request/opened")["pull_request"])

    async def go():
        project = await add_project(db)
        newer = replace(pr, title="newer", updated_at=at(10))
        older = replace(pr, title="older", updated_at=at(5))
        first = await gs.upsert_pull_request(db, project, None, newer)
        stale = await gs.upsert_pull_request(db, project, None, older)
        same_time = await gs.upsert_pull_request(db, project, None, replace(newer, title="tie"))
        title = await db.fetch_val(sa.text("SELECT title FROM pull_requests"))
        return first, stale, same_time, title

    first, stale, same_time, title = run(go)
    assert first[1] is True and stale == (first[0], False) and same_time == (first[0], True)
    assert title == "tie"


def test_review_state_only_moves_forward_and_dismissal_sticks(run, db) -> None:
    async def go():
        project = await add_project(db)
        pr = parse.pull_request(payload("pull_request/opened")["pull_request"])
        pr_id, _ = await gs.upsert_pull_request(db, project, None, pr)
        author = GitHubUser(9, "r")
        ids = await gs.upsert_users(db, [author], T0)
        base = Review(github_id=77, state="APPROVED", submitted_at=at(5), author=author)
        results = [
            await gs.upsert_reviews(db, pr_id, [base], ids),
            await gs.upsert_reviews(db, pr_id, [replace(base, state="DISMISSED")], ids),
            await gs.upsert_reviews(db, pr_id, [base], ids),
            await gs.upsert_reviews(
                db, pr_id, [replace(base, state="COMMENTED", submitted_at=at(1))], ids
            ),
            # A deleted account's review is left out.
            await gs.upsert_reviews(db, pr_id, [replace(base, github_id=78, author=None)], ids),
        ]
        return results, await db.fetch_one(reviews.select())

    results, row = run(go)
    assert [77 in written for written in results] == [True, True, False, False, False]
    assert results[-1] == set()
    assert (row["state"], row["submitted_at"]) == ("DISMISSED", at(5))


def test_review_requests_add_remove_revive_and_replace(run, db) -> None:
    """Requests follow each newer snapshot, with a request event's user on top."""
    pr = parse.pull_request(payload("pull_request/opened")["pull_request"])
    user_a, user_b = GitHubUser(1, "a"), GitHubUser(2, "b")

    def shown(minutes: int, *reviewers: GitHubUser, teams: tuple[str, ...] = ()):
        return replace(
            pr, updated_at=at(minutes), requested_reviewers=reviewers, requested_teams=teams
        )

    async def go():
        project = await add_project(db)
        requests = review_requests.select().order_by(review_requests.c.id)
        first = await gs.store_pull_request(db, project, shown(1, user_a, teams=("core",)), T0)
        # GitHub's snapshot may still list the reviewer whose request the event removes.
        await gs.store_pull_request(
            db, project, shown(2, user_a, teams=("core",)), T0, withdrawn=user_a
        )
        # A request event older than its removal does not revive it.
        stale = shown(1, user_a, teams=("core",))
        stale = replace(stale, updated_at=stale.updated_at + timedelta(seconds=30))
        assert not (await gs.store_pull_request(db, project, stale, T0, requested=user_a)).applied
        snapshot1 = await db.fetch_all(requests)
        # Re-requested (the snapshot lags): revived.
        await gs.store_pull_request(db, project, shown(3, teams=("core",)), T0, requested=user_a)
        stored = await gs.store_pull_request(db, project, shown(4, user_a, user_b), T0)
        snapshot2 = await db.fetch_all(requests)
        await gs.store_pull_request(db, project, shown(5), T0)
        snapshot3 = await db.fetch_all(requests)
        ids = stored.user_ids
        assert first.id == stored.id
        return ids[1], ids[2], snapshot1, snapshot2, snapshot3

    a, b, s1, s2, s3 = run(go)

    def view(rows):
        return [(r["user_id"], r["team_slug"], r["requested_at"], r["removed_at"]) for r in rows]

    assert view(s1) == [(a, None, at(1), at(2)), (None, "core", at(1), None)]
    assert view(s2) == [
        (a, None, at(3), None),  # still wanted: keeps its time
        (None, "core", at(1), at(4)),
        (b, None, at(4), None),
    ]
    # Known not wanted at 5: an already withdrawn request's time moves up too.
    assert view(s3) == [
        (a, None, at(3), at(5)),
        (None, "core", at(1), at(5)),
        (b, None, at(4), at(5)),
    ]


def test_new_requests_name_whom_each_store_asked_for_a_review(run, db) -> None:
    """What a real-time notification follows: new, revived and re-made user requests."""
    pr = parse.pull_request(payload("pull_request/opened")["pull_request"])
    a, b = GitHubUser(1, "a"), GitHubUser(2, "b")

    def shown(minutes: float, *reviewers: GitHubUser, teams: tuple[str, ...] = ()):
        return replace(
            pr,
            updated_at=T0 + timedelta(minutes=minutes),
            requested_reviewers=reviewers,
            requested_teams=teams,
        )

    steps = [
        (shown(1, a, teams=("core",)), {}, {"a"}),
        (shown(2, a, b), {}, {"b"}),
        (shown(3, a, b), {}, set()),  # nothing new: an edit
        (shown(4, a, b), {"requested": a}, {"a"}),  # re-requested while open
        (shown(5, b), {}, set()),  # a's request withdrawn
        (shown(4.5, a, b), {"requested": a}, set()),  # older than its withdrawal
        (shown(6, a, b), {}, {"a"}),  # revived
        (shown(5.5, a, b), {"requested": b}, {"b"}),  # a re-request that arrived late
        (shown(7, a, b), {"requested": Team("core")}, set()),  # teams are not people
    ]

    async def go():
        project = await add_project(db)
        seen = []
        for shape, event, _ in steps:
            stored = await gs.store_pull_request(db, project, shape, T0, **event)
            github_ids = {v: k for k, v in stored.user_ids.items()}
            seen.append({"a" if github_ids[i] == 1 else "b" for i in stored.new_requests})
        return seen

    assert run(go) == [expected for _, _, expected in steps]


def test_store_pull_request_follows_the_snapshot_and_the_event(run, db) -> None:
    event = parse.review_request_delivery(payload("pull_request/review_request_removed"))
    # The sample still lists the removed reviewer in the snapshot: the event wins.
    assert event.pull_request.requested_reviewers == (event.reviewer,)
    assert not event.requested
    requested = parse.pull_request(payload("pull_request/review_requested")["pull_request"])

    async def go():
        project = await add_project(db)
        count = db.query_count
        applied = (await gs.store_pull_request(db, project, requested, T0)).applied
        statements = db.query_count - count
        open_before = await db.fetch_all(
            review_requests.select().where(review_requests.c.removed_at.is_(None))
        )
        await gs.store_pull_request(db, project, event.pull_request, T0, withdrawn=event.reviewer)
        open_after = await db.fetch_all(
            review_requests.select().where(review_requests.c.removed_at.is_(None))
        )
        return applied, statements, open_before, open_after

    applied, statements, before, after = run(go)
    assert applied and len(before) == 1 and after == []
    assert statements <= 5
