"""The scheduler: the registered jobs, one JSON line per run, clean shutdown, and on
PostgreSQL one run of a job at a time across processes (advisory locks)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from apscheduler.triggers.date import DateTrigger
from starlette.testclient import TestClient

from bot.app import create_app, running_app
from bot.jobs.scheduler import JobSpec, Scheduler, run_job
from bot.logs import configure_logging


def now_trigger(settings: Any) -> DateTrigger:
    return DateTrigger(run_date=datetime.now(UTC))


async def wait_until(condition: Callable[[], bool], deadline: float = 10.0) -> None:
    """Wait for a condition; the deadline only keeps a broken test from hanging."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        if loop.time() > end:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.01)


def test_the_app_schedules_the_fetchers_when_the_scheduler_is_on(make_settings) -> None:
    settings = make_settings(
        SCHEDULER="on",
        PULL_REQUEST_SYNC_MINUTES="45",
        REVIEW_SYNC_MINUTES="7",
        REMINDER_CRON="0 9 * * 1-5",
        TIMEZONE="Europe/Sofia",
    )
    with TestClient(create_app(settings)) as client:
        jobs = {job.id: job.trigger for job in client.app.state.scheduler.scheduled()}
    assert sorted(jobs) == [
        "IdlersReminder",
        "PullRequestFetcher",
        "RedeliveryBackstop",
        "ReviewFetcher",
        "releases",
    ]
    assert jobs["releases"].interval.total_seconds() == 60
    assert jobs["RedeliveryBackstop"].interval.total_seconds() == 10 * 60
    assert jobs["PullRequestFetcher"].interval.total_seconds() == 45 * 60
    assert jobs["ReviewFetcher"].interval.total_seconds() == 7 * 60
    # The reminder wakes each quarter hour, so every person's zone reaches REMINDER_CRON.
    friday = datetime(2026, 1, 9, 8, 5, tzinfo=UTC)
    fire = jobs["IdlersReminder"].get_next_fire_time(None, friday)
    assert fire.astimezone(UTC) == datetime(2026, 1, 9, 8, 15, tzinfo=UTC)


def test_redeliver_minutes_sets_the_backstop_period_and_0_turns_it_off(make_settings) -> None:
    for minutes, expected in (("3", 3 * 60), ("0", None)):
        with TestClient(create_app(make_settings(SCHEDULER="on", REDELIVER_MINUTES=minutes))) as c:
            jobs = {job.id: job.trigger for job in c.app.state.scheduler.scheduled()}
        backstop = jobs.get("RedeliveryBackstop")
        assert (backstop and backstop.interval.total_seconds()) == expected
        assert "ReviewFetcher" in jobs


def test_no_scheduler_when_it_is_off(client) -> None:
    assert not hasattr(client.app.state, "scheduler")


def test_a_job_run_logs_one_json_line_and_a_failure_does_not_escape(settings) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("INFO", stream)

    async def fine(state: Any) -> None:
        logging.getLogger("test").info("working")

    async def broken(state: Any) -> None:
        raise RuntimeError("GitHub is down")

    async def main() -> list[str]:
        async with running_app(settings) as app:
            return [
                await run_job(app.state, JobSpec("Fine", now_trigger, fine)),
                await run_job(app.state, JobSpec("Broken", now_trigger, broken)),
            ]

    try:
        outcomes = asyncio.run(main())
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert outcomes == ["ok", "failed"]
    working = next(line for line in lines if line["message"] == "working")
    assert working["job"] == "Fine"
    runs = [line for line in lines if line["message"] == "job run"]
    assert [(r["job"], r["outcome"]) for r in runs] == [("Fine", "ok"), ("Broken", "failed")]
    assert all(isinstance(r["duration_ms"], int) for r in runs)
    failed = next(line for line in lines if line["message"] == "job failed")
    assert "GitHub is down" in failed["exception"]


def test_shutdown_waits_for_a_running_job(settings) -> None:
    events: list[str] = []

    async def job(state: Any) -> None:
        events.append("started")
        for _ in range(5):
            await asyncio.sleep(0.01)
        events.append("finished")

    async def main() -> list[tuple[str, str]]:
        async with running_app(settings) as app:
            async with Scheduler(app.state, (JobSpec("Slow", now_trigger, job),)) as scheduler:
                await wait_until(lambda: "started" in events)
            return scheduler.outcomes

    assert asyncio.run(main()) == [("Slow", "ok")]
    assert events == ["started", "finished"]


def test_shutdown_cancels_a_job_that_outstays_the_grace(settings) -> None:
    events: list[str] = []

    async def job(state: Any) -> None:
        events.append("started")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    async def main() -> None:
        stuck = (JobSpec("Stuck", now_trigger, job),)
        async with running_app(settings) as app, Scheduler(app.state, stuck, grace=0.05):
            await wait_until(lambda: "started" in events)

    asyncio.run(main())
    assert events == ["started", "cancelled"]


def test_two_schedulers_on_one_postgres_database_never_run_a_job_together(settings) -> None:
    if not settings.is_postgres:
        pytest.skip("advisory locks are PostgreSQL's; SQLite is one process by nature")
    running: list[object] = []
    overlap: list[int] = []
    release = asyncio.Event()

    async def job(state: Any) -> None:
        running.append(state)
        overlap.append(len(running))
        await release.wait()
        running.remove(state)

    spec = JobSpec("Exclusive", now_trigger, job)

    async def main() -> tuple[list, list, str]:
        # Two apps, as two dynos would be: each its own scheduler and connections.
        async with running_app(settings) as one, running_app(settings) as two:
            async with Scheduler(one.state, (spec,)) as a, Scheduler(two.state, (spec,)) as b:
                await wait_until(lambda: ("Exclusive", "skipped") in a.outcomes + b.outcomes)
                assert len(running) == 1
                release.set()
                await wait_until(lambda: ("Exclusive", "ok") in a.outcomes + b.outcomes)
                # Once the run is over the lock is free again, for either process.
                again = await b.run(spec)
            return a.outcomes, b.outcomes, again

    first, second, again = asyncio.run(main())
    assert sorted(first[:1] + second[:1]) == [("Exclusive", "ok"), ("Exclusive", "skipped")]
    assert overlap == [1, 1]
    assert again == "ok"
