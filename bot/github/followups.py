"""What a webhook handler that needs the app gets: its state, and work for later.

Handlers run inside the delivery's transaction; work that must see what they stored
(notifying a release's approvers) is queued with `later` and runs after the commit,
as the answer's background task, and never when the delivery failed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.background import BackgroundTasks
from starlette.datastructures import State


class AfterCommit:
    def __init__(self, state: State) -> None:
        self.state = state
        self._work: list[tuple[Callable[..., Awaitable[Any]], tuple[Any, ...]]] = []

    def later(self, func: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run `func(*args)` once the delivery is committed and answered."""
        self._work.append((func, args))

    def background(self) -> BackgroundTasks | None:
        if not self._work:
            return None
        tasks = BackgroundTasks()
        for func, args in self._work:
            tasks.add_task(func, *args)
        return tasks
