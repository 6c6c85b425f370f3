"""Background jobs on APScheduler, in the app's own event loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = structlog.get_logger(__name__)


class Scheduler:
    """A small wrapper so jobs are declared in one place and failures are logged, never fatal."""

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone="UTC")

    def every(self, seconds: float, name: str, job: Callable[[], Awaitable[object]]) -> None:
        async def run() -> None:
            try:
                await job()
            except Exception:
                log.exception("job_failed", job=name)

        self._scheduler.add_job(
            run,
            "interval",
            seconds=seconds,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
