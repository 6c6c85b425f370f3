"""Background jobs on APScheduler, in the app's own event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.tasks import Tasks

log = structlog.get_logger(__name__)


class Scheduler:
    """A small wrapper so jobs are declared in one place and failures are logged, never fatal."""

    def __init__(self) -> None:
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        # Runs in progress, so shutting down stops them before the database they use is closed.
        self._running = Tasks()
        self._closed = False
        self._stopped = False  # APScheduler's shutdown asked for (it takes effect a moment later)

    def _guarded(self, name: str, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if self._closed:
                return  # submitted just before the shutdown: the database may be going away
            try:
                async with self._running.tracking():
                    await job()
            except Exception:
                log.exception("job_failed", job=name)
            finally:
                if self._closed and not self._running:
                    # After this task has ended, or APScheduler's shutdown would cancel it.
                    asyncio.get_running_loop().call_soon(self._finished)

        return run

    def every(
        self,
        seconds: float,
        name: str,
        job: Callable[[], Awaitable[object]],
        *,
        run_at_start: bool = False,
    ) -> None:
        """Run `job` every `seconds`; with `run_at_start` also as soon as the scheduler starts."""
        extra: dict[str, Any] = {"next_run_time": datetime.now(UTC)} if run_at_start else {}
        self._scheduler.add_job(
            self._guarded(name, job),
            "interval",
            seconds=seconds,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            **extra,
        )

    def daily_at(
        self, hour: int, minute: int, tz: tzinfo | str, name: str, job: Callable[[], Awaitable[object]]
    ) -> None:
        """Run `job` every day at `hour:minute` wall time in `tz` (DST-aware)."""
        self._scheduler.add_job(
            self._guarded(name, job),
            CronTrigger(hour=hour, minute=minute, timezone=tz),
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,  # a loop busy at that minute still sends it, late
        )

    def weekly_at(
        self,
        day: str,
        hour: int,
        minute: int,
        tz: tzinfo | str,
        name: str,
        job: Callable[[], Awaitable[object]],
    ) -> None:
        """Run `job` every week on `day` (`mon`...`sun`) at `hour:minute` wall time in `tz`."""
        self._scheduler.add_job(
            self._guarded(name, job),
            CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=tz),
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )

    def job_names(self) -> list[str]:
        return [job.id for job in self._scheduler.get_jobs()]

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        """Stop scheduling; runs in progress finish first (`aclose` waits for them).

        APScheduler's own shutdown cancels the runs in progress, and a run cancelled mid-query
        can hang in aiosqlite's close; so with runs in progress the scheduler is only paused,
        and shut down when the last of them ends.
        """
        self._closed = True
        if self._running:
            if self._scheduler.running and not self._stopped:
                self._scheduler.pause()
        else:
            self._stop()

    def _stop(self) -> None:
        if self._scheduler.running and not self._stopped:
            self._stopped = True
            self._scheduler.shutdown(wait=False)

    def _finished(self) -> None:
        if self._closed and not self._running:
            self._stop()

    async def aclose(self, grace: float = 10.0) -> None:
        """Stop scheduling and wait for the runs in progress, cancelling them after `grace` seconds.

        Await it before closing the database the jobs use.
        """
        self.shutdown()
        await self._running.wait(grace)
        self._finished()
        await asyncio.sleep(0)  # APScheduler's shutdown runs in the next turn of the loop
