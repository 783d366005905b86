"""Where a route's time goes: pyinstrument over the app in-process (not run by `make bench`).

    .venv/bin/pip install pyinstrument
    .venv/bin/python -m tests.bench.profile_routes [postgresql|sqlite] [ROUNDS] [PATH...]

Seeds 1,000 pull requests as `make bench` does, then calls each path ROUNDS times
through the ASGI app (no sockets, so the profile is the app's own work) and prints
pyinstrument's call tree. Paths: list, pr, user, webhook (the default: all four).
"""

from __future__ import annotations

import asyncio
import sys
import uuid

import httpx

from bot.app import create_app
from bot.settings import load_settings
from tests.bench.bench_http import SECRET, SMALL, WATCHED, database, deliveries, grow

PATHS = {
    "list": "/v1/pull_requests?per_page=100",
    "pr": f"/v1/pull_requests/{SMALL // 2}?details=true",
    "user": f"/v1/users/{WATCHED}?details=true",
    "healthz": "/healthz",
}


async def profile(url: str, rounds: int, names: list[str]) -> None:
    from pyinstrument import Profiler

    settings = load_settings(
        {"DATABASE_URL": url, "SCHEDULER": "off", "GITHUB_WEBHOOK_SECRET": SECRET},
        env_file="/nonexistent",
    )
    app = create_app(settings)
    bodies = list(deliveries(50, 60_000_000))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name in names:
                profiler = Profiler(async_mode="enabled", interval=0.0005)
                with profiler:
                    for n in range(rounds):
                        if name == "webhook":
                            d = bodies[n % len(bodies)]
                            answer = await client.post(
                                "/github/webhooks",
                                content=d.body,
                                headers={
                                    "Content-Type": "application/json",
                                    "X-GitHub-Event": d.event,
                                    "X-Hub-Signature-256": d.signature,
                                    "X-GitHub-Delivery": str(uuid.uuid4()),
                                },
                            )
                        else:
                            answer = await client.get(PATHS[name])
                        answer.raise_for_status()
                print(f"===== {name} x{rounds}")
                print(profiler.output_text(unicode=False, color=False, show_all=False))


def main() -> None:
    backend = sys.argv[1] if len(sys.argv) > 1 else "postgresql"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    names = sys.argv[3:] or ["list", "pr", "user", "webhook"]
    with database(backend) as url:
        grow(url, SMALL)
        asyncio.run(profile(url, rounds, names))


if __name__ == "__main__":
    main()
