"""Background work a component started, kept so that its shutdown can let it finish.

Telegram's replies sent after a turn, Slack listeners still working after their `ack()`, the
scheduler's runs: each is a task that must end before the database it uses is closed, since work
cancelled mid-query can hang in the database driver's close.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any


class Tasks:
    """A set of running tasks: started here (`start`) or marked while they run (`tracking`)."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __bool__(self) -> bool:
        return bool(self._tasks)

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, work: Coroutine[Any, Any, Any], *, name: str | None = None) -> asyncio.Task[Any]:
        """Run `work` in the background, kept here until it ends."""
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @asynccontextmanager
    async def tracking(self) -> AsyncIterator[None]:
        """Keep the current task here while the block runs."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def wait(self, grace: float, *, cancel: bool = True) -> None:
        """Wait up to `grace` seconds for the tasks (not the caller's own) to end; with `cancel`,
        cancel those still running then and wait until they have stopped."""
        running = [task for task in self._tasks if task is not asyncio.current_task()]
        if not running:
            return
        _done, pending = await asyncio.wait(running, timeout=grace)
        if cancel and pending:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
