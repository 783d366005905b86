"""Storing GitHub state (shared by webhooks and the poller), on both backends."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from bot.github import mapping
from bot.store import github_state as gs
from bot.store.tables import projects, review_requests, reviews, users
from tests.factories import T0, add_project, at
from tests.webhook_client import payload


def test_users_are_keyed_by_github_id_and_renames_update(run, db) -> None:
    async def go():
        first = await gs.upsert_users(
            db, [{"github_id": 1, "username": "old"}, {"github_id": 2, "username": "b"}], T0
        )
        renamed = (await gs.upsert_users(db, [{"github_id": 1, "username": "new"}], T0))[1]
        return first, renamed, await db.fetch_all(users.select().order_by(users.c.id))

    first, renamed, rows = run(go)
    assert renamed == first[1]
    assert [(r["github_id"], r["username"], r["metadata"]) for r in rows] == [
        (1, "new", {}),
        (2, "b", {}),
    ]


def test_project_is_matched_by_name_ignoring_case_then_by_github_id(run, db) -> None:
    repo = mapping.project_row(payload("pull_request/opened")["repository"])

    async def go():
        existing = await add_project(db, "codertocat", "hello-world")
        matched = await gs.upsert_project(db, repo, T0, installation_id=7)
        renamed = await gs.upsert_project(db, {**repo, "repo_name": "Hello-Again", "name": "x"}, T0)
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
        a = await gs.upsert_project(
            db,
            {"repo_owner": "o", "repo_name": "a", "github_id": 1, "name": "o/a"},
            T0,
            installation_id=5,
        )
        b = await gs.upsert_project(
            db,
            {"repo_owner": "o", "repo_name": "b", "github_id": 2, "name": "o/b"},
            T0,
            installation_id=5,
        )
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
    pr = mapping.pull_request_row(payload("pull_request/opened")["pull_request"])

    async def go():
        project = await add_project(db)
        newer = {**pr, "title": "newer", "updated_at": at(10)}
        older = {**pr, "title": "older", "updated_at": at(5)}
        first = await gs.upsert_pull_request(db, project, None, newer)
        stale = await gs.upsert_pull_request(db, project, None, older)
        same_time = await gs.upsert_pull_request(db, project, None, {**newer, "title": "tie"})
        title = await db.fetch_val(sa.text("SELECT title FROM pull_requests"))
        return first, stale, same_time, title

    first, stale, same_time, title = run(go)
    assert first[1] is True and stale == (first[0], False) and same_time == (first[0], True)
    assert title == "tie"


def test_review_state_only_moves_forward_and_dismissal_sticks(run, db) -> None:
    async def go():
        project = await add_project(db)
        pr_row = mapping.pull_request_row(payload("pull_request/opened")["pull_request"])
        pr_id, _ = await gs.upsert_pull_request(db, project, None, pr_row)
        user = (await gs.upsert_users(db, [{"github_id": 9, "username": "r"}], T0))[9]
        base = {"github_id": 77, "submitted_at": at(5)}
        results = [
            await gs.upsert_reviews(db, pr_id, [(user, {**base, "state": "APPROVED"})]),
            await gs.upsert_reviews(db, pr_id, [(user, {**base, "state": "DISMISSED"})]),
            await gs.upsert_reviews(db, pr_id, [(user, {**base, "state": "APPROVED"})]),
            await gs.upsert_reviews(
                db, pr_id, [(user, {**base, "state": "COMMENTED", "submitted_at": at(1)})]
            ),
        ]
        return results, await db.fetch_one(reviews.select())

    results, row = run(go)
    assert [77 in written for written in results] == [True, True, False, False]
    assert (row["state"], row["submitted_at"]) == ("DISMISSED", at(5))


def test_review_requests_add_remove_revive_and_replace(run, db) -> None:
    async def go():
        project = await add_project(db)
        pr_row = mapping.pull_request_row(payload("pull_request/opened")["pull_request"])
        pr_id, _ = await gs.upsert_pull_request(db, project, None, pr_row)
        ids = await gs.upsert_users(
            db, [{"github_id": 1, "username": "a"}, {"github_id": 2, "username": "b"}], T0
        )
        a, b = ids[1], ids[2]
        await gs.add_review_request(db, pr_id, at(1), user_id=a)
        await gs.add_review_request(db, pr_id, at(1), team_slug="core")
        await gs.remove_review_request(db, pr_id, at(2), user_id=a)
        # A request older than its removal does not revive it.
        await gs.add_review_request(db, pr_id, at(1) + timedelta(seconds=30), user_id=a)
        snapshot1 = await db.fetch_all(review_requests.select().order_by(review_requests.c.id))
        await gs.add_review_request(db, pr_id, at(3), user_id=a)  # re-requested: revived
        await gs.replace_review_requests(db, pr_id, [a, b], [], at(4))
        snapshot2 = await db.fetch_all(review_requests.select().order_by(review_requests.c.id))
        await gs.replace_review_requests(db, pr_id, [], [], at(5))
        snapshot3 = await db.fetch_all(review_requests.select().order_by(review_requests.c.id))
        return a, b, snapshot1, snapshot2, snapshot3

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


def test_store_pull_request_follows_the_snapshot_and_the_event(run, db) -> None:
    event = payload("pull_request/review_request_removed")
    # The sample still lists the removed reviewer in the snapshot: the event wins.
    assert (
        event["pull_request"]["requested_reviewers"][0]["id"] == event["requested_reviewer"]["id"]
    )

    async def go():
        project = await add_project(db)
        count = db.query_count
        stored = await gs.store_pull_request(
            db, project, payload("pull_request/review_requested")["pull_request"], T0
        )
        statements = db.query_count - count
        made = [(user, when) for user, when in stored.made_requests]
        open_before = await db.fetch_all(
            review_requests.select().where(review_requests.c.removed_at.is_(None))
        )
        await gs.store_pull_request(
            db, project, event["pull_request"], T0, withdrawn=event["requested_reviewer"]
        )
        open_after = await db.fetch_all(
            review_requests.select().where(review_requests.c.removed_at.is_(None))
        )
        return stored.applied, made, statements, open_before, open_after

    applied, made, statements, before, after = run(go)
    assert applied and len(before) == 1 and after == []
    # The store says which user requests it made: the one now open.
    assert made == [(before[0]["user_id"], before[0]["requested_at"])]
    assert statements <= 5
