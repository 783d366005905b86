"""The periodic jobs: APScheduler in the app's event loop, one run of a job at a time.

Within a process APScheduler coalesces missed runs and never starts a job while it
still runs; across processes (several web dynos on one PostgreSQL database) a session
advisory lock per job, taken on a connection of its own, lets only one run at once:
a process that finds the lock held skips that run.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from bot.logs import log_context
from bot.settings import Settings

log = logging.getLogger(__name__)

# How long shutdown waits for a running job before cancelling it.
SHUTDOWN_GRACE_SECONDS = 20.0


@dataclass(frozen=True)
class JobSpec:
    """A periodic job: its name, when it runs (built from the settings), what it does."""

    name: str
    # None: the settings turn the job off.
    trigger: Callable[[Settings], BaseTrigger | None]
    func: Callable[[Any], Awaitable[object]]


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a job name."""
    digest = hashlib.sha256(f"reviewer:job:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@asynccontextmanager
async def job_lock(settings: Settings, name: str) -> AsyncIterator[bool]:
    """Yield True when this process may run the job now, False when another one runs it.

    On SQLite (one process by nature) there is nothing to lock. On PostgreSQL the lock
    lives on a dedicated connection, so it is released if this process dies mid-run.
    """
    if not settings.is_postgres:
        yield True
        return
    import asyncpg

    key = lock_key(name)
    conn = await asyncpg.connect(settings.database_url)
    try:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
            yield False
            return
        try:
            yield True
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", key)
    finally:
        await conn.close()


async def run_job(state: Any, spec: JobSpec) -> str:
    """Run a job once under its lock; log one line with its outcome and duration.

    Returns the outcome: ok, skipped (another process runs it), failed or cancelled.
    A failure is logged, never raised: the scheduler keeps going.
    """
    token = log_context.set({**(log_context.get() or {}), "job": spec.name})
    started = time.monotonic()
    outcome = "failed"
    result: object = None
    try:
        async with job_lock(state.settings, spec.name) as acquired:
            if acquired:
                result = await spec.func(state)
                outcome = "ok"
            else:
                outcome = "skipped"
    except asyncio.CancelledError:
        outcome = "cancelled"
        raise
    except Exception:
        log.exception("job failed")
    finally:
        extra: dict[str, Any] = {
            "outcome": outcome,
            "duration_ms": round((time.monotonic() - started) * 1000),
        }
        as_dict = getattr(result, "as_dict", None)
        if callable(as_dict):
            extra["summary"] = as_dict()
        log.info("job run", extra=extra)
        log_context.reset(token)
    return outcome


class Scheduler:
    """Starts the registered jobs on enter; on exit waits for a running one, then cancels."""

    def __init__(
        self,
        state: Any,
        jobs: tuple[JobSpec, ...] | None = None,
        grace: float = SHUTDOWN_GRACE_SECONDS,
    ) -> None:
        if jobs is None:
            from bot.jobs.registry import JOBS

            jobs = JOBS
        self.state = state
        self.jobs = jobs
        self.grace = grace
        self.outcomes: list[tuple[str, str]] = []  # (job, outcome), newest last
        self._running: set[asyncio.Task] = set()
        self._scheduler: AsyncIOScheduler | None = None

    async def run(self, spec: JobSpec) -> str:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            outcome = await run_job(self.state, spec)
            self.outcomes.append((spec.name, outcome))
            return outcome
        finally:
            self._running.discard(task)

    def scheduled(self) -> list[Any]:
        """APScheduler's jobs (id, trigger, next run time), for `reviewer check` and tests."""
        return self._scheduler.get_jobs() if self._scheduler else []

    async def __aenter__(self) -> Scheduler:
        settings: Settings = self.state.settings
        self._scheduler = AsyncIOScheduler(
            timezone=ZoneInfo(settings.timezone),
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 600},
        )
        started = []
        for spec in self.jobs:
            trigger = spec.trigger(settings)
            if trigger is None:
                continue
            self._scheduler.add_job(
                self.run, trigger=trigger, args=[spec], id=spec.name, name=spec.name
            )
            started.append(spec.name)
        self._scheduler.start()
        log.info("scheduler started", extra={"jobs": started})
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._scheduler is not None
        self._scheduler.pause()  # no new runs from here on
        running = set(self._running)
        if running:
            log.info("waiting for running jobs", extra={"jobs": len(running)})
            _, pending = await asyncio.wait(running, timeout=self.grace)
            for task in pending:
                task.cancel()
            # A cancelled job rolls back its transaction and releases its lock.
            await asyncio.gather(*pending, return_exceptions=True)
        self._scheduler.shutdown(wait=False)
        log.info("scheduler stopped")
