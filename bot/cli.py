"""`reviewer` (and `python -m bot`): serve, migrate and the one-off jobs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bot.logs import configure_logging
from bot.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from bot.jobs.reminders import ReminderSummary

Command = Callable[[argparse.Namespace, Settings], int]


class MigrationFailed(Exception):
    """The database did not answer or refused the schema; `str()` is one line, never the URL."""


def migrate_first(settings: Settings) -> list[str]:
    """Bring the schema up to date (before serving or a job too), printing each revision."""
    from sqlalchemy.exc import DBAPIError

    from bot.store.migrate import migrate

    try:
        applied = migrate(settings.database_url)
    except (OSError, DBAPIError) as exc:
        # Not the URL: it may hold the password. The driver's first line says enough.
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        raise MigrationFailed(f"{type(exc).__name__}: {reason}".rstrip(": ")) from exc
    for revision in applied:
        print(f"applied {revision}", flush=True)
    return applied


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    if not migrate_first(settings):
        print("the database schema is up to date")
    return 0


def _stopped(signum: int, frame: object) -> None:
    """A stop asked for with SIGTERM (a platform restart) or Ctrl-C is a normal end.

    uvicorn drains the requests in flight, closes the app, then raises the signal
    again for the handler that was there before it; this one lets `serve` return 0.
    """


def serving_processes(settings: Settings) -> int:
    """How many processes `serve` runs: WEB_CONCURRENCY on PostgreSQL, one on SQLite."""
    if settings.web_concurrency > 1 and not settings.is_postgres:
        import logging

        logging.getLogger("bot.cli").warning(
            "serving with one process: SQLite takes one writer at a time and its database "
            "file belongs to one server; WEB_CONCURRENCY applies on PostgreSQL",
            extra={"web_concurrency": settings.web_concurrency},
        )
        return 1
    return settings.web_concurrency


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import signal

    import uvicorn

    from bot.app import create_app, set_start_up_aside

    migrate_first(settings)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stopped)
    workers = serving_processes(settings)
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port or settings.port,
        "log_config": None,  # our JSON logging stays in charge
        "access_log": False,  # our request log leaves out the query strings uvicorn's keeps
        "proxy_headers": True,
        "forwarded_allow_ips": "*",
        # On SIGTERM in-flight requests get this long; platforms kill after 30 s.
        "timeout_graceful_shutdown": 25,
    }
    if workers == 1:
        # workers=1 said outright: uvicorn would read WEB_CONCURRENCY itself otherwise.
        app = create_app(settings)
        set_start_up_aside()
        uvicorn.run(app, workers=1, **options)
    else:
        # Each worker process builds its app from the same settings (environment and
        # .env); the scheduler runs in each, its advisory locks let one run a job at once.
        uvicorn.run("bot.app:create_worker_app", factory=True, workers=workers, **options)
    return 0


def cmd_remind(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from bot.app import running_app
    from bot.jobs.reminders import remind_idlers

    if not args.dry_run and not settings.slack_configured:
        print(
            "reviewer: Slack is off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET), "
            "nothing sent; --dry-run shows the messages",
            file=sys.stderr,
        )
        return 1

    migrate_first(settings)

    async def run() -> ReminderSummary:
        async with running_app(settings) as app:
            return await remind_idlers(app.state, dry_run=args.dry_run)

    summary = asyncio.run(run())
    if args.dry_run:
        # Per person: their zone, their local time, and due now or why not.
        for person in summary.people:
            print(person.line())
    for outgoing in summary.messages:
        if args.dry_run:
            print(f"--- to {outgoing.target} ({', '.join(outgoing.logins)})")
            print(outgoing.message.text)
        elif outgoing.outcome == "failed":
            print(f"failed: {outgoing.target} ({', '.join(outgoing.logins)}): {outgoing.error}")
    if not args.dry_run:
        for login, why in summary.skipped_why.items():
            print(f"skipped {login}: {why}")
    verb, outcome = ("would send", "dry-run") if args.dry_run else ("sent", "sent")
    count = sum(1 for outgoing in summary.messages if outgoing.outcome == outcome)
    print(
        f"{summary.day}: {verb} {count} message(s); reviewers reminded "
        f"{summary.sent}, failed {summary.failed}, skipped {summary.skipped}"
    )
    return 1 if summary.failed else 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from bot.check import FAILED, run_checks

    checks = asyncio.run(run_checks(settings))
    for check in checks:
        print(check.line(), flush=True)
    return 1 if any(c.status == FAILED for c in checks) else 0


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    migrate_first(settings)
    return asyncio.run(sync(settings, args.project))


async def sync(settings: Settings, project: str | None) -> int:
    """Run PullRequestFetcher then ReviewFetcher once, printing progress and summaries."""
    from bot.app import running_app
    from bot.jobs.pull_requests import NAME as PR_FETCHER
    from bot.jobs.pull_requests import fetch_pull_requests
    from bot.jobs.reviews import NAME as REVIEW_FETCHER
    from bot.jobs.reviews import fetch_reviews_cycle
    from bot.jobs.scheduler import job_lock
    from bot.progress import Progress
    from bot.store.sync_state import active_projects

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
                summary = await fetch(state, project, Progress())
            print(summary.describe(), flush=True)
            failed = failed or bool(summary.failed) or summary.stopped is not None
    return 1 if failed else 0


def cmd_redeliver(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from bot.jobs.redeliver import NO_APP

    if not settings.github_app_configured:
        print(f"reviewer: {NO_APP}", file=sys.stderr)
        return 2
    migrate_first(settings)
    return asyncio.run(redeliver(settings, args.hours))


async def redeliver(settings: Settings, hours: float) -> int:
    """One RedeliveryBackstop pass, now, under the scheduler's lock; prints its summary."""
    from bot.app import running_app
    from bot.jobs.redeliver import NAME
    from bot.jobs.redeliver import redeliver as backstop
    from bot.jobs.scheduler import job_lock

    async with running_app(settings) as app, job_lock(settings, NAME) as acquired:
        if not acquired:
            print(f"another process is running {NAME} now; skipped", flush=True)
            return 1
        summary = await backstop(app.state, hours)
    print(summary.describe(), flush=True)
    return 1 if summary.failed or summary.stopped else 0


def hours(raw: str) -> float:
    """--hours: a number of hours in GitHub's window of three days."""
    from bot.jobs.redeliver import WINDOW_HOURS

    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of hours, got {raw!r}") from None
    if not 0 < value <= WINDOW_HOURS:
        raise argparse.ArgumentTypeError(f"expected more than 0 and at most {WINDOW_HOURS:g}")
    return value


def cmd_replay(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    import httpx

    from bot.replay import read_payload, replay

    if not settings.github_webhook_secret:
        print("reviewer: GITHUB_WEBHOOK_SECRET is not set; replay signs with it", file=sys.stderr)
        return 2
    try:
        body = read_payload(Path(args.file))
    except (OSError, ValueError) as exc:
        print(f"reviewer: {exc}", file=sys.stderr)
        return 2
    url = args.url or f"http://localhost:{settings.port}/github/webhooks"
    try:
        response = replay(body, args.event, url, settings.github_webhook_secret, args.delivery)
    except httpx.HTTPError as exc:
        print(f"reviewer: {url} did not answer: {exc}", file=sys.stderr)
        return 1
    print(f"HTTP {response.status_code} {response.reason_phrase}")
    if response.text:
        print(response.text)
    return 0 if response.is_success else 1


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

    remind = sub.add_parser("remind", help="run IdlersReminder once, now")
    remind.add_argument(
        "--dry-run", action="store_true", help="print each message and its target, send nothing"
    )
    remind.set_defaults(func=cmd_remind)

    check = sub.add_parser("check", help="check the settings, the database, GitHub and Slack")
    check.set_defaults(func=cmd_check)

    again = sub.add_parser(
        "redeliver", help="ask GitHub again for the deliveries that never reached this service"
    )
    again.add_argument(
        "--hours",
        type=hours,
        default=72.0,
        help="look this far back (default 72, GitHub's window of three days)",
    )
    again.set_defaults(func=cmd_redeliver)

    replay = sub.add_parser("replay", help="post a saved webhook payload, signed, to a server")
    replay.add_argument("file", help="a JSON file holding the payload")
    replay.add_argument("--event", required=True, help="X-GitHub-Event, e.g. pull_request")
    replay.add_argument(
        "--url", default=None, help="where to post (default http://localhost:$PORT/github/webhooks)"
    )
    replay.add_argument(
        "--delivery", default=None, help="the X-GitHub-Delivery GUID (default: a fresh one)"
    )
    replay.set_defaults(func=cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        if args.command == "check":
            from bot.check import FAILED, Check

            print(Check("settings", FAILED, str(exc)).line())
            return 1
        print(f"reviewer: bad setting {exc}", file=sys.stderr)
        return 2
    # A person runs one-off commands: their report on stdout, only warnings in the log.
    log_format = settings.log_format or ("json" if args.command == "serve" else "text")
    configure_logging(settings.log_level, log_format=log_format)
    func: Command = args.func
    try:
        return func(args, settings)
    except MigrationFailed as exc:
        print(f"reviewer: cannot bring the database schema up to date: {exc}", file=sys.stderr)
        return 1
