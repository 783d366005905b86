"""One run of some work for many callers at once, each served by a run that began after
it asked: how the data version is bumped after concurrent commits on PostgreSQL.

Sixteen webhook deliveries committing at once each asked for a bump of their own, one
round trip and one NOTIFY apiece. The guarantee each needs is only that a bump *begun
after its commit* has ended before it returns. So a caller that asks while a bump is
under way (which may have begun before its commit) waits for it to end and shares the
next one with everyone else who asked meanwhile: at most two bumps are ever waited for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class SharedRunFailed(Exception):
    """The run this caller shared failed, or its leader was cancelled."""


class Coalesced:
    """Calls of `await coalesced(work)`, grouped so that each returns once a run of
    `work` that began after the call has ended (and raises if that run failed)."""

    def __init__(self) -> None:
        self._running: asyncio.Future[BaseException | None] | None = None
        self._next: asyncio.Future[BaseException | None] | None = None
        self.runs = 0

    async def __call__(self, work: Callable[[], Awaitable[None]]) -> None:
        if self._running is None:
            await self._lead(work, None)
            return
        shared = self._next
        if shared is not None:  # the next run is asked for already: share it
            failure = await asyncio.shield(shared)
            if failure is not None:
                raise SharedRunFailed(type(failure).__name__)
            return
        # The run under way may have begun before this call: the next one, which this
        # caller leads, begins once it has ended.
        shared = self._next = asyncio.get_running_loop().create_future()
        try:
            await asyncio.shield(self._running)
        except BaseException as exc:  # cancelled: those sharing must not wait for ever
            shared.set_result(exc)
            raise
        finally:
            if self._next is shared:
                self._next = None
        await self._lead(work, shared)

    async def _lead(
        self,
        work: Callable[[], Awaitable[None]],
        shared: asyncio.Future[BaseException | None] | None,
    ) -> None:
        running = self._running = asyncio.get_running_loop().create_future()
        self.runs += 1
        failure: BaseException | None = None
        try:
            await work()
        except BaseException as exc:
            failure = exc
            raise
        finally:
            if self._running is running:
                self._running = None
            running.set_result(failure)
            if shared is not None and not shared.done():
                shared.set_result(failure)
