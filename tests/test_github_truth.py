"""A model of GitHub's truth: whatever happens to the deliveries, the service ends where
GitHub is.

A Hypothesis state machine plays what people do on GitHub (pull requests opened,
edited, closed and reopened; reviews requested of people and teams, withdrawn and made
again; reviews submitted and dismissed; repositories renamed) on the fake GitHub, which
is the model: its repositories are the truth. Each step sends the real signed delivery
GitHub would send (built from the fake's objects, which are the sample payloads),
through a fault layer that drops, doubles, delays (reorders) or fails it (a database
trigger makes it 500 in the middle of its transaction). At the end the delayed ones
arrive, the redelivery backstop asks for what failed, GitHub redelivers, and the read
API must equal the model's answer; then a sync (PullRequestFetcher and ReviewFetcher
against the same fake) must leave it so. On both backends; `make soak` runs many more
examples (HYPOTHESIS_PROFILE=soak).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import respx
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    precondition,
    rule,
    run_state_machine_as_test,
)
from starlette.testclient import TestClient

from bot.app import create_app
from bot.jobs.pull_requests import fetch_pull_requests
from bot.jobs.redeliver import redeliver
from bot.jobs.reviews import fetch_reviews_cycle
from bot.settings import load_settings
from bot.store.migrate import migrate
from bot.store.tables import ALL_TABLES
from tests.conftest import BACKENDS, WEBHOOK_SECRET, _pg_admin, _server_url
from tests.fake_github import APP_ID, BASE_URL, Clock, FakeGitHub, Repo
from tests.github_app import app_key, dropped, sender

PROFILES = {
    # In `make test`: ten stories of 20 steps per backend, well under a minute each.
    "default": settings(
        max_examples=10,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    ),
    "soak": settings(
        max_examples=300,
        stateful_step_count=50,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    ),
}
PROFILE = PROFILES.get(os.environ.get("HYPOTHESIS_PROFILE", "default"), PROFILES["default"])

LOGINS = ("alice", "bob", "carol", "dave")
TEAMS = ("core", "docs")
REVIEW_STATES = ("APPROVED", "COMMENTED", "CHANGES_REQUESTED")
# What becomes of a delivery: mostly it arrives.
FATES = st.sampled_from(("arrive", "arrive", "arrive", "drop", "double", "delay", "fail"))
INSTALLATION = 7

# A delivery whose GUID is in test_faults fails at its project's or its pull request's
# write, after its GUID (and project and users) were written in the same transaction.
FAULT_SQL = {
    "postgresql": [
        "CREATE TABLE IF NOT EXISTS test_faults (guid varchar(64) PRIMARY KEY)",
        "CREATE OR REPLACE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF EXISTS (SELECT 1 FROM test_faults f JOIN webhook_deliveries w ON w.guid = f.guid) "
        "THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$",
        "DROP TRIGGER IF EXISTS test_fault ON pull_requests",
        "CREATE TRIGGER test_fault BEFORE INSERT ON pull_requests "
        "FOR EACH ROW EXECUTE FUNCTION test_fault()",
        "DROP TRIGGER IF EXISTS test_fault ON projects",
        "CREATE TRIGGER test_fault BEFORE INSERT OR UPDATE ON projects "
        "FOR EACH ROW EXECUTE FUNCTION test_fault()",
    ],
    "sqlite": [
        "CREATE TABLE test_faults (guid TEXT PRIMARY KEY)",
        "CREATE TRIGGER test_fault BEFORE INSERT ON pull_requests WHEN EXISTS "
        "(SELECT 1 FROM test_faults f JOIN webhook_deliveries w ON w.guid = f.guid) "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
        "CREATE TRIGGER test_fault_projects_insert BEFORE INSERT ON projects WHEN EXISTS "
        "(SELECT 1 FROM test_faults f JOIN webhook_deliveries w ON w.guid = f.guid) "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
        "CREATE TRIGGER test_fault_projects_update BEFORE UPDATE ON projects WHEN EXISTS "
        "(SELECT 1 FROM test_faults f JOIN webhook_deliveries w ON w.guid = f.guid) "
        "BEGIN SELECT RAISE(ABORT, 'injected fault'); END",
    ],
}


@dataclass
class Backend:
    """Hands out an empty, migrated database per example."""

    name: str
    fresh: Callable[[], str]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        counter = itertools.count()

        def fresh_sqlite() -> str:
            path = tmp_path / f"truth-{next(counter)}.db"
            shutil.copy(template, path)
            return f"sqlite:///{path}"

        yield Backend("sqlite", fresh_sqlite)
        return
    request.getfixturevalue("postgres_database")  # skips (or fails under CI) without a server
    name = f"reviewer_truth_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = _server_url(name)
    migrate(url)
    tables = ", ".join([*(t.name for t in ALL_TABLES), "test_faults"])

    def fresh_postgres() -> str:
        asyncio.run(_pg_admin(f"TRUNCATE {tables} RESTART IDENTITY CASCADE", name))
        return url

    for statement in FAULT_SQL["postgresql"]:
        asyncio.run(_pg_admin(statement, name))
    try:
        yield Backend("postgresql", fresh_postgres)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class GitHubTruth(RuleBasedStateMachine):
    """People work on GitHub; deliveries go astray; the service must end where GitHub is."""

    backend: Backend

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        self.fake = FakeGitHub(app_key()[1], self.clock)
        self.repos = [
            self.fake.add_repo("acme", "api", INSTALLATION),
            self.fake.add_repo("acme", "web", INSTALLATION),
        ]
        self.numbers = itertools.count(1)
        self.guids = itertools.count(1)
        self.delayed: list[tuple[str, dict, str]] = []
        self.mentioned: set[str] = set()
        self.projects: set[int] = set()  # repositories a delivery named: projects here
        self.moves = itertools.count(2)
        self.router = respx.mock(assert_all_called=False)
        self.router.__enter__()
        self.fake.mount(self.router)
        url = self.backend.fresh()
        app_settings = load_settings(
            {
                "DATABASE_URL": url,
                "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "SCHEDULER": "off",
                "GITHUB_APP_ID": APP_ID,
                "GITHUB_PRIVATE_KEY": app_key()[0],
                "GITHUB_API_URL": BASE_URL,
            },
            env_file=Path(os.devnull),
        )
        self.client = TestClient(create_app(app_settings))
        self.client.__enter__()
        state = self.client.app.state  # type: ignore[attr-defined]
        state.clock = self.clock
        state.github.sleep_scale = 0
        self.state = state
        if self.backend.name == "sqlite":  # a copy of the template: no trigger yet
            for statement in FAULT_SQL["sqlite"]:
                self.sql(statement)
        self.send = sender(self.client)

    # -- plumbing ------------------------------------------------------------------------

    def call(self, func: Callable[..., Any], *args: Any) -> Any:
        assert self.client.portal is not None
        return self.client.portal.call(func, *args)

    def sql(self, statement: str, **values: Any) -> None:
        self.call(self.state.db.execute, sa.text(statement).bindparams(**values))

    def pulls(self, *, state: str | None = None) -> list[tuple[Repo, int]]:
        return [
            (repo, number)
            for repo in self.repos
            for number, pr in repo.pulls.items()
            if state is None or pr["state"] == state
        ]

    def tick(self) -> datetime:
        return self.clock.advance(minutes=1)

    def emit(self, event: str, data: dict, fate: str) -> None:
        """Send the delivery GitHub would send, through the fault layer."""
        self.projects.add(data["repository"]["id"])
        if "pull_request" in data:
            pr = data["pull_request"]
            people = [pr["user"], *pr["requested_reviewers"]]
            people += [data[k] for k in ("requested_reviewer",) if k in data]
            people += [data["review"]["user"]] if "review" in data else []
            self.mentioned.update(person["login"] for person in people)
        guid = f"{next(self.guids):04d}-{uuid.uuid4()}"
        if fate == "delay":
            self.delayed.append((event, data, guid))
        elif fate == "drop":
            self.fake.deliver(dropped, event, data, guid)
        elif fate == "fail":
            self.sql("INSERT INTO test_faults (guid) VALUES (:guid)", guid=guid)
            try:
                status = self.fake.deliver(self.send, event, data, guid)
                # A rename GitHub already showed us writes nothing: nothing to fail.
                assert status == 500 or (event == "repository" and status == 200)
            finally:
                self.sql("DELETE FROM test_faults")
        else:
            assert self.fake.deliver(self.send, event, data, guid) == 200
            if fate == "double":  # a second copy of one GUID is acknowledged, not applied
                assert self.fake.deliver(self.send, event, data, guid) == 200

    # -- what people do on GitHub --------------------------------------------------------

    @rule(
        repo=st.integers(0, 1),
        author=st.sampled_from(LOGINS),
        requested=st.sets(st.sampled_from(LOGINS), max_size=2),
        fate=FATES,
    )
    def open_pull_request(self, repo: int, author: str, requested: set, fate: str) -> None:
        number = next(self.numbers)
        reviewers = tuple(sorted(requested - {author}))
        self.repos[repo].add_pull(number, author, self.tick(), requested=reviewers)
        self.emit(
            "pull_request", self.repos[repo].pull_request_event("opened", number, author), fate
        )

    @precondition(lambda self: self.pulls())
    @rule(data=st.data(), fate=FATES)
    def edit_title(self, data: st.DataObject, fate: str) -> None:
        repo, number = data.draw(st.sampled_from(self.pulls()))
        repo.edit(number, f"Change {number}, edited at {self.clock.now:%H:%M}", self.tick())
        author = repo.pulls[number]["user"]["login"]
        self.emit("pull_request", repo.pull_request_event("edited", number, author), fate)

    @precondition(lambda self: self.pulls(state="open"))
    @rule(data=st.data(), merged=st.booleans(), fate=FATES)
    def close(self, data: st.DataObject, merged: bool, fate: str) -> None:
        repo, number = data.draw(st.sampled_from(self.pulls(state="open")))
        repo.close(number, self.tick(), merged=merged)
        author = repo.pulls[number]["user"]["login"]
        self.emit("pull_request", repo.pull_request_event("closed", number, author), fate)

    @precondition(
        lambda self: any(r.pulls[n]["merged_at"] is None for r, n in self.pulls(state="closed"))
    )
    @rule(data=st.data(), fate=FATES)
    def reopen(self, data: st.DataObject, fate: str) -> None:
        closed = [(r, n) for r, n in self.pulls(state="closed") if r.pulls[n]["merged_at"] is None]
        repo, number = data.draw(st.sampled_from(closed))
        repo.reopen(number, self.tick())
        author = repo.pulls[number]["user"]["login"]
        self.emit("pull_request", repo.pull_request_event("reopened", number, author), fate)

    @precondition(lambda self: self.pulls(state="open"))
    @rule(data=st.data(), login=st.sampled_from(LOGINS), fate=FATES)
    def request_review(self, data: st.DataObject, login: str, fate: str) -> None:
        repo, number = data.draw(st.sampled_from(self.pulls(state="open")))
        pr = repo.pulls[number]
        if login == pr["user"]["login"] or any(
            u["login"] == login for u in pr["requested_reviewers"]
        ):
            return  # GitHub does not let an author review, nor asks anyone twice at once
        repo.request_review(number, login, self.tick())
        event = repo.pull_request_event(
            "review_requested",
            number,
            pr["user"]["login"],
            requested_reviewer=self.fake.user(login),
        )
        self.emit("pull_request", event, fate)

    @precondition(lambda self: self.pulls(state="open"))
    @rule(data=st.data(), slug=st.sampled_from(TEAMS), fate=FATES)
    def request_team(self, data: st.DataObject, slug: str, fate: str) -> None:
        repo, number = data.draw(st.sampled_from(self.pulls(state="open")))
        pr = repo.pulls[number]
        if any(t["slug"] == slug for t in pr["requested_teams"]):
            return
        team = repo.request_team(number, slug, self.tick())
        event = repo.pull_request_event(
            "review_requested", number, pr["user"]["login"], requested_team=team
        )
        self.emit("pull_request", event, fate)

    @precondition(lambda self: any(r.pulls[n]["requested_teams"] for r, n in self.pulls()))
    @rule(data=st.data(), fate=FATES)
    def withdraw_team(self, data: st.DataObject, fate: str) -> None:
        asked = [(r, n) for r, n in self.pulls() if r.pulls[n]["requested_teams"]]
        repo, number = data.draw(st.sampled_from(asked))
        pr = repo.pulls[number]
        slug = data.draw(st.sampled_from([t["slug"] for t in pr["requested_teams"]]))
        team = repo.remove_team(number, slug, self.tick())
        event = repo.pull_request_event(
            "review_request_removed", number, pr["user"]["login"], requested_team=team
        )
        self.emit("pull_request", event, fate)

    @precondition(lambda self: any(r.pulls[n]["requested_reviewers"] for r, n in self.pulls()))
    @rule(data=st.data(), fate=FATES)
    def withdraw_request(self, data: st.DataObject, fate: str) -> None:
        asked = [(r, n) for r, n in self.pulls() if r.pulls[n]["requested_reviewers"]]
        repo, number = data.draw(st.sampled_from(asked))
        pr = repo.pulls[number]
        login = data.draw(st.sampled_from([u["login"] for u in pr["requested_reviewers"]]))
        repo.remove_request(number, login, self.tick())
        event = repo.pull_request_event(
            "review_request_removed",
            number,
            pr["user"]["login"],
            requested_reviewer=self.fake.user(login),
        )
        self.emit("pull_request", event, fate)

    @precondition(lambda self: self.pulls(state="open"))
    @rule(
        data=st.data(),
        login=st.sampled_from(LOGINS),
        state=st.sampled_from(REVIEW_STATES),
        fate=FATES,
    )
    def review(self, data: st.DataObject, login: str, state: str, fate: str) -> None:
        repo, number = data.draw(st.sampled_from(self.pulls(state="open")))
        if login == repo.pulls[number]["user"]["login"]:
            return
        review = repo.add_review(number, login, state, self.tick())
        self.emit("pull_request_review", repo.review_event("submitted", number, review), fate)

    def _dismissable(self) -> list[tuple[Repo, int, dict]]:
        return [
            (repo, number, review)
            for repo, number in self.pulls()
            for review in repo.reviews[number]
            if review["state"] in ("APPROVED", "CHANGES_REQUESTED")
        ]

    @precondition(lambda self: self._dismissable())
    @rule(data=st.data(), fate=FATES)
    def dismiss(self, data: st.DataObject, fate: str) -> None:
        repo, number, review = data.draw(st.sampled_from(self._dismissable()))
        review = repo.dismiss(number, review["id"], self.tick())
        self.emit("pull_request_review", repo.review_event("dismissed", number, review), fate)

    @rule(repo=st.integers(0, 1), fate=FATES)
    def rename_repository(self, repo: int, fate: str) -> None:
        moving = self.repos[repo]
        old = moving.name
        self.tick()
        self.fake.move(moving, moving.owner, f"{old.split('-')[0]}-{next(self.moves)}")
        event = {
            "action": "renamed",
            "changes": {"repository": {"name": {"from": old}}},
            "repository": copy.deepcopy(moving.json),
            "installation": {"id": moving.installation_id, "node_id": "MDIz"},
            "sender": self.fake.user(LOGINS[0]),
        }
        self.emit("repository", event, fate)

    @precondition(lambda self: self.delayed)
    @rule(data=st.data())
    def delayed_one_arrives(self, data: st.DataObject) -> None:
        event, payload, guid = self.delayed.pop(data.draw(st.integers(0, len(self.delayed) - 1)))
        assert self.fake.deliver(self.send, event, payload, guid) == 200

    # -- the end: everything comes home ------------------------------------------------

    def teardown(self) -> None:
        try:
            self.converge()
        finally:
            self.client.__exit__(None, None, None)
            self.router.__exit__(None, None, None)

    def converge(self) -> None:
        self.tick()
        for event, payload, guid in reversed(self.delayed):  # late, and out of order
            assert self.fake.deliver(self.send, event, payload, guid) == 200
        summary = self.call(redeliver, self.state)
        assert (summary.failed, summary.refused, summary.stopped) == (0, 0, None), summary
        failed = {i["guid"] for i in self.fake.hook_deliveries if i["status_code"] != 200}
        assert summary.asked == len(failed), summary
        assert sorted(g for g, status in self.fake.flush_redeliveries(self.send)) == sorted(failed)
        assert self.observed() == self.expected(), "after the deliveries came home"
        self.tick()
        self.call(fetch_pull_requests, self.state)
        self.call(fetch_reviews_cycle, self.state)
        assert self.observed() == self.expected(), "after a sync"

    def expected(self) -> dict[str, Any]:
        """The model's answer: what the read API must show."""
        pulls = {}
        roles: dict[str, dict[str, set]] = {}
        for repo, number in self.pulls():
            pr = repo.pulls[number]
            latest: dict[str, str] = {}
            for review in sorted(repo.reviews[number], key=lambda r: (r["submitted_at"], r["id"])):
                if review["state"] != "COMMENTED":
                    latest[review["user"]["login"]] = review["state"]
            people = {
                "approvers": sorted(u for u, s in latest.items() if s == "APPROVED"),
                "commenters": sorted(
                    {r["user"]["login"] for r in repo.reviews[number] if r["state"] == "COMMENTED"}
                ),
                "idlers": sorted(u["login"] for u in pr["requested_reviewers"])
                if pr["state"] == "open"
                else [],
            }
            key = f"{repo.id}#{number}"
            pulls[key] = {
                "title": pr["title"],
                "state": pr["state"],
                "merged": pr["merged_at"] is not None,
                "updated_at": pr["updated_at"],
                "author": pr["user"]["login"],
                **people,
            }
            for role, logins in people.items():
                for login in logins:
                    roles.setdefault(login, {}).setdefault(role, set()).add(key)
        users = {login: self.fake.users[login]["id"] for login in self.mentioned}
        projects = {r.id: r.full_name for r in self.repos if r.id in self.projects}
        return {"projects": projects, "pulls": pulls, "users": users, "roles": roles}

    def observed(self) -> dict[str, Any]:
        """The read API's answer, in the model's terms."""
        get = self.client.get
        listed = get("/v1/projects").json()
        projects = {p["id"]: p["github_id"] for p in listed}
        pulls, names = {}, {}
        for pr in get("/v1/pull_requests?state=all&per_page=1000").json():
            key = f"{projects[pr['project_id']]}#{pr['number']}"
            names[pr["id"]] = key
            details = get(f"/v1/pull_requests/{pr['id']}?details=true").json()
            pulls[key] = {
                "title": pr["title"],
                "state": pr["state"],
                "merged": pr["merged"],
                "updated_at": pr["updated_at"],
                **{k: details[k] for k in ("author", "approvers", "commenters", "idlers")},
            }
        users, roles = {}, {}
        for user in get("/v1/users?per_page=1000").json():
            users[user["username"]] = user["github_id"]
            details = get(f"/v1/users/{user['id']}?details=true").json()
            for role, field in (
                ("approvers", "approved_pull_requests"),
                ("commenters", "commented_pull_requests"),
                ("idlers", "idled_pull_requests"),
            ):
                keys = {names[pr["id"]] for pr in details[field]}
                if keys:
                    roles.setdefault(user["username"], {})[role] = keys
        repositories = {p["github_id"]: f"{p['repo_owner']}/{p['repo_name']}" for p in listed}
        return {"projects": repositories, "pulls": pulls, "users": users, "roles": roles}


def test_the_service_ends_where_github_is(backend: Backend) -> None:
    """Any story, any lost, doubled, late or failed deliveries: the read API equals GitHub."""

    class Machine(GitHubTruth):
        pass

    Machine.backend = backend
    run_state_machine_as_test(Machine, settings=PROFILE)


def test_regression_a_late_rename_does_not_move_the_project_back(backend: Backend) -> None:
    """Shrunk from the machine: a rename's delivery lost, a second rename delivered, then
    the backstop's redelivery of the first renamed the project back (its owner/name
    followed whichever picture of the repository arrived last)."""

    class Machine(GitHubTruth):
        pass

    Machine.backend = backend
    machine = Machine()
    machine.rename_repository(repo=0, fate="drop")
    machine.rename_repository(repo=0, fate="arrive")
    machine.teardown()  # everything comes home; the read API must show acme/api-3
