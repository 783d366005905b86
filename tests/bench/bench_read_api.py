"""Read API latency over real HTTP (uvicorn on loopback), against /healthz as the baseline.

Seeds 1,000 open pull requests, each approved, commented on and idled on, then times
each route over the same keep-alive connection. The baseline (/healthz) is measured in
the same run, so the figures compare across machines: what the database work costs on
top of serving a request at all.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import tempfile
import threading
import time

import httpx
import uvicorn

from bot.app import create_app
from bot.settings import load_settings
from bot.store.database import Database
from bot.store.migrate import migrate
from tests.factories import seed_reviewed_pull_requests as seed

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "200"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(url: str, port: int) -> uvicorn.Server:
    settings = load_settings({"DATABASE_URL": url, "SCHEDULER": "off"}, env_file="/nonexistent")
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def time_route(client: httpx.Client, path: str) -> list[float]:
    client.get(path).raise_for_status()  # warm up
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{folder}/bench.db")
        migrate(url)

        async def fill() -> dict[str, int]:
            db = Database(url)
            await db.connect()
            try:
                return await seed(db, 1000)
            finally:
                await db.disconnect()

        ids = asyncio.run(fill())
        port = free_port()
        server = serve(url, port)
        routes = {
            "baseline /healthz": "/healthz",
            "readyz (SELECT 1)": "/readyz",
            "list 100 pull requests": "/v1/pull_requests",
            "list 1000 pull requests": "/v1/pull_requests?per_page=1000",
            "pull request details": f"/v1/pull_requests/{ids['pr']}?details=true",
            "user details (1000 approved)": f"/v1/users/{ids['approver']}?details=true",
            "user details (1000 idled)": f"/v1/users/{ids['idler']}?details=true",
            "queue, 1000 open": "/v1/queue?per_page=1000",
            "stats, 365 days": "/v1/stats?days=365",
        }
        print(f"   backend {url.split(':')[0]}, {ROUNDS} requests per route")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            baseline = None
            for name, path in routes.items():
                samples = time_route(client, path)
                median = statistics.median(samples)
                p95 = statistics.quantiles(samples, n=20)[-1]
                baseline = baseline or median
                print(
                    f"   {name:32} median {median:7.2f} ms  p95 {p95:7.2f} ms"
                    f"  x{median / baseline:5.1f} baseline"
                )
        server.should_exit = True
