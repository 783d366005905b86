"""What a sync costs GitHub: requests and rate-limit points for 50 repos x 20 open PRs.

GitHub is the respx fake of the tests (ETags, pages, rate-limit headers per
credential, App JWTs and installation tokens); everything of ours runs for real on a
SQLite file. Figures per cycle (PullRequestFetcher then ReviewFetcher, as
`reviewer sync` runs them):

- first sync: an empty store;
- second sync, nothing changed, same process (the ETag cache is warm);
- third sync, 5 pull requests changed (a review each) in 5 repositories;
- a sync after a restart, nothing changed (the ETag cache is empty).

Rate-limit points are what GitHub charged (a 304 is free), summed over credentials.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from datetime import timedelta
from typing import Any

import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.app import running_app
from bot.jobs.pull_requests import fetch_pull_requests
from bot.jobs.reviews import fetch_reviews_cycle
from bot.settings import load_settings
from bot.store.migrate import migrate
from bot.store.tables import projects
from tests.fake_github import APP_ID, BASE_URL, Clock, FakeGitHub

REPOS = int(os.environ.get("BENCH_REPOS", "50"))
PULLS = int(os.environ.get("BENCH_PULLS", "20"))


def build_github(public_key: Any, clock: Clock) -> FakeGitHub:
    github = FakeGitHub(public_key, clock)
    start = clock.advance(days=-30)
    for r in range(REPOS):
        repo = github.add_repo("acme", f"service-{r:02d}", installation_id=1 + r % 3)
        for n in range(1, PULLS + 1):
            at = start + timedelta(minutes=30 * (r * PULLS + n))
            repo.add_pull(n, f"dev{n % 7}", at, requested=(f"dev{(n + 1) % 7}",))
            repo.add_review(n, f"dev{(n + 2) % 7}", "commented", at + timedelta(minutes=5))
            repo.add_review(n, f"dev{(n + 3) % 7}", "approved", at + timedelta(minutes=9))
    clock.advance(days=30)
    return github


def charged(github: FakeGitHub) -> int:
    return sum(github.rate_limit - left for left in github.remaining.values())


async def cycle(state: Any, github: FakeGitHub) -> dict[str, Any]:
    calls, points, queries = len(github.calls), charged(github), state.db.query_count
    started = time.perf_counter()
    prs = await fetch_pull_requests(state)
    reviews = await fetch_reviews_cycle(state)
    made = github.calls[calls:]
    return {
        "requests": len(made),
        "304": sum(c.status == 304 for c in made),
        "points": charged(github) - points,
        "token/JWT": sum(c.scheme == "bearer" for c in made),
        "db queries": state.db.query_count - queries,
        "seconds": round(time.perf_counter() - started, 2),
        "changed": f"+{prs.counts.added} ~{prs.counts.updated} x{prs.counts.closed} "
        f"reviews {reviews.counts.reviews}",
    }


async def scenario(settings: Any, github: FakeGitHub, clock: Clock) -> list[tuple[str, dict]]:
    results = []
    async with running_app(settings) as app:
        state = app.state
        state.clock = clock
        for r in range(REPOS):
            await state.db.execute(
                projects.insert().values(
                    name=f"service {r}",
                    repo_owner="acme",
                    repo_name=f"service-{r:02d}",
                    active=True,
                    created_at=clock(),
                )
            )
        results.append(("first sync", await cycle(state, github)))
        clock.advance(minutes=15)
        results.append(("second, nothing changed", await cycle(state, github)))
        cache_bytes = sum(len(json.dumps(entry[2])) for entry in state.github.cache.values())
        clock.advance(minutes=15)
        for r in range(0, REPOS, max(1, REPOS // 5)):
            github.repos[f"acme/service-{r:02d}"].add_review(1, "dev6", "approved", clock())
        clock.advance(minutes=10)
        results.append(("third, 5 PRs changed", await cycle(state, github)))
    clock.advance(minutes=15)
    async with running_app(settings) as app:
        app.state.clock = clock
        results.append(("after a restart, nothing changed", await cycle(app.state, github)))
    print(f"   ETag cache: {len(state.github.cache)} entries, {cache_bytes / 1e6:.1f} MB as JSON")
    return results


def main() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    clock = Clock()
    github = build_github(key.public_key(), clock)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        migrate(url)
        settings = load_settings(
            {
                "DATABASE_URL": url,
                "GITHUB_APP_ID": APP_ID,
                "GITHUB_PRIVATE_KEY": pem,
                "GITHUB_API_URL": BASE_URL,
                "SCHEDULER": "off",
                "LOG_LEVEL": "WARNING",
            },
            env_file="/nonexistent",
        )
        with respx.mock(assert_all_called=False) as router:
            github.mount(router)
            results = asyncio.run(scenario(settings, github, clock))
    print(f"   {REPOS} repositories x {PULLS} open pull requests, 2 reviews each, 3 installations")
    for name, figures in results:
        shown = ", ".join(f"{k} {v}" for k, v in figures.items())
        print(f"   {name}: {shown}")


if __name__ == "__main__":
    main()
