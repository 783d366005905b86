"""A team's morning, as rows: what the dashboard's page tests (and its screenshot) show."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.store.database import Database
from bot.store.tables import release_approvers, releases, review_requests
from tests.factories import add_project, add_pull_request, add_request, add_review, add_user

# Wednesday 14 January 2026, 15:00 UTC.
NOW = datetime(2026, 1, 14, 15, 0, tzinfo=UTC)
FIRST_MONDAY = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
# Were it HTML, the page would hold a <script> element.
XSS_TITLE = "Escape <script> tags in Slack previews"
_tokens = itertools.count()


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


async def add_release(
    db: Database,
    name: str,
    release_id: str,
    team_project: str,
    status: str,
    created: datetime,
    approvers: list[tuple[dict[str, str], str | None]],
    decided: datetime | None = None,
) -> int:
    release = await db.execute(
        releases.insert().values(
            team_project=team_project,
            release_id=release_id,
            release_name=name,
            status=status,
            approvals_needed=len(approvers),
            approvers_fetched_at=created,
            attempts=1,
            created_at=created,
            decided_at=decided,
        )
    )
    for who, decision in approvers:
        await db.execute(
            release_approvers.insert().values(
                release_id=release,
                token_hash=hashlib.sha256(f"token-{next(_tokens)}".encode()).hexdigest(),
                expires_at=created + timedelta(hours=72),
                decision=decision,
                channel="link" if decision else None,
                decided_at=decided if decision else None,
                notified_at=created,
                **who,
            )
        )
    return release


async def add_team_request(db: Database, pr: int, team: str, at: datetime) -> None:
    await db.execute(
        review_requests.insert().values(pull_request_id=pr, team_slug=team, requested_at=at)
    )


async def seed_team(db: Database) -> dict[str, Any]:
    """Three repositories, five people, a queue with idlers, a month of reviews, releases."""
    api = await add_project(db, "acme", "api")
    web = await add_project(db, "acme", "web")
    mobile = await add_project(db, "acme", "mobile")
    ann = await add_user(db, "ann")
    bob = await add_user(db, "bob")
    carla = await add_user(db, "carla", metadata={"timezone": "Europe/Paris"})
    dan = await add_user(db, "dan")
    eve = await add_user(db, "eve")

    def pr(project: int, author: int | None, number: int, title: str, repo: str, **kw: Any):
        kw.setdefault("url", f"https://github.com/acme/{repo}/pull/{number}")
        return add_pull_request(db, project, author, number, title=title, **kw)

    retry = await pr(
        api, ann, 101, "Retry webhook deliveries GitHub never saw", "api", created_at=ago(days=3)
    )
    await add_request(db, retry, bob, ago(days=2, hours=5))
    await add_request(db, retry, carla, ago(days=1, hours=2))
    audit = await pr(api, dan, 104, XSS_TITLE, "api", created_at=ago(days=1))
    await add_request(db, audit, bob, ago(days=1))
    limits = await pr(
        api, eve, 107, "Rate limits per installation", "api", draft=True, created_at=ago(hours=8)
    )
    await add_request(db, limits, ann, ago(hours=6))
    dark = await pr(
        web,
        carla,
        55,
        "Dark mode for the settings page",
        "web",
        labels=["ui"],
        created_at=ago(hours=3),
    )
    await add_request(db, dark, dan, ago(hours=1))
    await add_request(db, dark, bob, ago(hours=1))
    await pr(web, eve, 58, "Bump the test runner to 4.2", "web", created_at=ago(hours=20))
    # A link that is not a web address is shown as text, never followed.
    sneaky = "javascript:document.title='pwned'"
    sneaky = await pr(web, None, 60, "Fix the footer", "web", url=sneaky, created_at=ago(hours=30))
    await add_request(db, sneaky, eve, ago(hours=26))
    offline = await pr(
        mobile, bob, 12, "Offline queue for approvals", "mobile", created_at=ago(days=1, hours=4)
    )
    await add_team_request(db, offline, "mobile-core", ago(days=1, hours=4))

    # A month of first reviews, each opened on a Monday or Tuesday at 10:00 and reviewed
    # (days, hours) later: api answers within hours, web takes a day or two.
    number = itertools.count(200)
    for project, repo, waits in (
        (api, "api", ((0, 1), (0, 2), (0, 2), (0, 3), (0, 5), (0, 7))),
        (web, "web", ((0, 6), (1, 2), (1, 5), (2, 1), (2, 6))),
        (mobile, "mobile", ((0, 4), (1, 7))),
    ):
        for slot, (days, hours) in enumerate(waits):
            opened = FIRST_MONDAY - timedelta(weeks=slot // 2) + timedelta(days=slot % 2)
            done = await pr(
                project,
                ann,
                next(number),
                f"Earlier {slot}",
                repo,
                state="closed",
                created_at=opened,
            )
            await add_review(db, done, bob, "APPROVED", opened + timedelta(days=days, hours=hours))

    await add_release(
        db,
        "api v2.14.0",
        "386",
        "acme/api",
        "pending",
        ago(hours=2),
        [
            ({"name": "Ann", "github_login": "ann", "email": "ann@acme.test"}, "approved"),
            ({"name": "Bob", "github_login": "bob"}, None),
            ({"name": "Release managers", "email": "rm@acme.test"}, None),
        ],
    )
    await add_release(
        db,
        "web 3.2.1",
        "379",
        "acme/web",
        "approved",
        ago(days=1),
        [({"name": "Carla", "github_login": "carla"}, "approved"), ({"name": "Dan"}, "approved")],
        decided=ago(hours=20),
    )
    await add_release(
        db,
        "mobile 1.9.0",
        "371",
        "acme/mobile",
        "rejected",
        ago(days=2),
        [({"name": "Bob", "github_login": "bob"}, "rejected"), ({"name": "Eve"}, None)],
        decided=ago(days=1, hours=22),
    )
    return {"api": api, "web": web, "mobile": mobile, "bob": bob}
