"""Shared runs: every caller is served by a run that began after it asked, and no more
runs are made than that needs."""

from __future__ import annotations

import asyncio

import pytest

from bot.store.coalesce import Coalesced, SharedRunFailed


class Work:
    """A run that takes a while and notes when it began and ended (loop time)."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.runs: list[tuple[float, float]] = []
        self.fail_on = fail_on

    async def __call__(self) -> None:
        began = asyncio.get_running_loop().time()
        await asyncio.sleep(0.02)
        self.runs.append((began, asyncio.get_running_loop().time()))
        if self.fail_on == len(self.runs):
            raise OSError("the database went away")


def test_calls_one_after_another_each_run_once() -> None:
    async def calls() -> int:
        coalesced, work = Coalesced(), Work()
        for _ in range(3):
            await coalesced(work)
        return len(work.runs)

    assert asyncio.run(calls()) == 3


def test_calls_at_once_share_runs_and_each_is_served_by_one_begun_after_it() -> None:
    async def calls() -> tuple[Work, list[tuple[float, float]]]:
        coalesced, work = Coalesced(), Work()
        loop = asyncio.get_running_loop()

        async def call(delay: float) -> tuple[float, float]:
            await asyncio.sleep(delay)
            asked = loop.time()
            await coalesced(work)
            return asked, loop.time()

        # One run under way, then callers asking during it and during the next.
        done = await asyncio.gather(*(call(0.001 * k) for k in range(30)))
        return work, done

    work, done = asyncio.run(calls())
    assert 2 <= len(work.runs) < 10  # thirty calls over ~30 ms: a few runs, not thirty
    for asked, returned in done:
        # A run that began at or after the call ended before it returned.
        assert any(asked <= began and ended <= returned for began, ended in work.runs)


def test_a_failed_run_fails_everyone_who_shared_it() -> None:
    async def calls() -> list[BaseException | None]:
        coalesced, work = Coalesced(), Work(fail_on=2)

        async def call(delay: float) -> BaseException | None:
            await asyncio.sleep(delay)
            try:
                await coalesced(work)
            except Exception as exc:
                return exc
            return None

        return await asyncio.gather(call(0), call(0.005), call(0.006), call(0.007))

    first, *shared = asyncio.run(calls())
    assert first is None  # the first run succeeded
    assert len(shared) == 3
    # The second run failed: its leader sees the error, those who shared it are told so.
    assert sum(isinstance(e, OSError) for e in shared) == 1
    assert sum(isinstance(e, SharedRunFailed) for e in shared) == 2


def test_a_leader_cancelled_while_it_waits_leaves_nobody_waiting() -> None:
    async def calls() -> list[str]:
        coalesced, work = Coalesced(), Work()
        first = asyncio.create_task(coalesced(work))
        await asyncio.sleep(0.005)
        leader = asyncio.create_task(coalesced(work))  # waits for the first run
        await asyncio.sleep(0.001)
        follower = asyncio.create_task(coalesced(work))  # shares the leader's run
        await asyncio.sleep(0.001)
        leader.cancel()
        await first
        outcomes = []
        for task in (leader, follower):
            try:
                await asyncio.wait_for(task, 1)
                outcomes.append("done")
            except asyncio.CancelledError:
                outcomes.append("cancelled")
            except SharedRunFailed:
                outcomes.append("failed")
        return outcomes

    assert asyncio.run(calls()) == ["cancelled", "failed"]


@pytest.mark.parametrize(("callers", "runs"), [(1, 1), (2, 2), (16, 2)])
def test_those_asking_during_a_run_share_the_next(callers: int, runs: int) -> None:
    """The first call begins a run at once; the others asked after it began, so one
    more run serves them all."""

    async def calls() -> list[int]:
        coalesced, work = Coalesced(), Work()
        await asyncio.gather(*(coalesced(work) for _ in range(callers)))
        return [len(work.runs), coalesced.runs]

    assert asyncio.run(calls()) == [runs, runs]
