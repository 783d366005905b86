"""`reviewer` (and `python -m bot`): serve, migrate and the one-off jobs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bot.logs import configure_logging
from bot.settings import ConfigError, Settings, load_settings

Command = Callable[[argparse.Namespace, Settings], int]


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.migrate import migrate

    applied = migrate(settings.database_url)
    if applied:
        for revision in applied:
            print(f"applied {revision}")
    else:
        print("the database schema is up to date")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from bot.app import create_app
    from bot.store.migrate import migrate

    for revision in migrate(settings.database_url):
        print(f"applied {revision}", flush=True)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port or settings.port,
        log_config=None,  # our JSON logging stays in charge
        proxy_headers=True,
        forwarded_allow_ips="*",
        timeout_graceful_shutdown=30,
    )
    return 0


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    return asyncio.run(sync(settings, args.project))


async def sync(settings: Settings, project: str | None) -> int:
    """Run PullRequestFetcher then ReviewFetcher once, printing progress and summaries."""
    from bot.app import running_app
    from bot.jobs.pull_requests import NAME as PR_FETCHER
    from bot.jobs.pull_requests import fetch_pull_requests
    from bot.jobs.reviews import NAME as REVIEW_FETCHER
    from bot.jobs.reviews import fetch_reviews_cycle
    from bot.jobs.scheduler import job_lock
    from bot.store.sync_state import active_projects

    def progress(line: str) -> None:
        print(f"  {line}", flush=True)

    async with running_app(settings) as app:
        state = app.state
        if not state.github.configured:
            print(
                "reviewer: set GITHUB_APP_ID and GITHUB_PRIVATE_KEY, or GITHUB_TOKEN",
                file=sys.stderr,
            )
            return 2
        if project is not None and not await active_projects(state.db, project):
            print(f"reviewer: no active project {project}", file=sys.stderr)
            return 2
        failed = False
        for name, fetch in (
            (PR_FETCHER, fetch_pull_requests),
            (REVIEW_FETCHER, fetch_reviews_cycle),
        ):
            print(f"{name}:", flush=True)
            # The scheduler's lock: a run here never overlaps one in a served process.
            async with job_lock(settings, name) as acquired:
                if not acquired:
                    print(f"  another process is running {name} now; skipped", flush=True)
                    failed = True
                    continue
                summary = await fetch(state, project, progress)
            print(summary.describe(), flush=True)
            failed = failed or bool(summary.failed) or summary.stopped is not None
    return 1 if failed else 0


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    import httpx

    from bot.github.replay import replay

    if not settings.github_webhook_secret:
        print("reviewer: GITHUB_WEBHOOK_SECRET is needed to sign the payload", file=sys.stderr)
        return 2
    url = args.url or f"http://localhost:{settings.port}/github/webhooks"
    try:
        answer = replay(
            Path(args.file), args.event, url, settings.github_webhook_secret, args.delivery
        )
    except (OSError, ValueError, httpx.HTTPError) as exc:
        print(f"reviewer: cannot replay {args.file}: {exc}", file=sys.stderr)
        return 1
    print(f"{answer.status_code} {answer.text}")
    return 0 if answer.is_success else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reviewer", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="migrate if needed, then serve HTTP with the scheduler")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")  # noqa: S104
    serve.add_argument("--port", type=int, default=None, help="port (default $PORT or 8000)")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(func=cmd_migrate)

    sync = sub.add_parser("sync", help="run PullRequestFetcher and ReviewFetcher once, now")
    sync.add_argument("--project", metavar="OWNER/NAME", help="only this project's repository")
    sync.set_defaults(func=cmd_sync)

    replay = sub.add_parser("replay", help="post a saved webhook payload, signed, to an instance")
    replay.add_argument("file", help="the payload, a JSON file as GitHub delivered it")
    replay.add_argument("--event", required=True, help="the X-GitHub-Event, e.g. pull_request")
    replay.add_argument(
        "--url", help="the webhook URL (default http://localhost:$PORT/github/webhooks)"
    )
    replay.add_argument("--delivery", help="the X-GitHub-Delivery GUID (default: a new one)")
    replay.set_defaults(func=cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"reviewer: bad setting {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    func: Command = args.func
    return func(args, settings)
