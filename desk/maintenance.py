"""Maintenance windows (policy section 6): scheduled, announced, shown while active."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import MaintenanceWindow, utcnow


class MaintenanceError(ValueError):
    """A window that cannot be scheduled (the message says why)."""


async def active_window(session: AsyncSession, now: datetime) -> MaintenanceWindow | None:
    query = (
        select(MaintenanceWindow)
        .where(
            MaintenanceWindow.cancelled_at.is_(None),
            MaintenanceWindow.starts_at <= now,
            MaintenanceWindow.ends_at > now,
        )
        .order_by(MaintenanceWindow.starts_at)
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def current_and_upcoming(
    session: AsyncSession, now: datetime, *, limit: int = 5
) -> list[MaintenanceWindow]:
    """Windows not yet over and not cancelled, soonest first."""
    query = (
        select(MaintenanceWindow)
        .where(MaintenanceWindow.cancelled_at.is_(None), MaintenanceWindow.ends_at > now)
        .order_by(MaintenanceWindow.starts_at)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def schedule(
    session: AsyncSession,
    *,
    starts_at: datetime,
    ends_at: datetime,
    message: str,
    created_by: str,
    now: datetime | None = None,
) -> MaintenanceWindow:
    now = now or utcnow()
    if ends_at <= starts_at:
        raise MaintenanceError("the end must be after the start")
    if ends_at <= now:
        raise MaintenanceError("that window is already over")
    if not message.strip():
        raise MaintenanceError("say what the maintenance is about")
    window = MaintenanceWindow(
        starts_at=starts_at,
        ends_at=ends_at,
        message=message.strip()[:2000],
        created_by=created_by,
        created_at=now,
    )
    session.add(window)
    await session.flush()
    return window


async def cancel(session: AsyncSession, window_id: int, *, now: datetime | None = None) -> MaintenanceWindow:
    window = await session.get(MaintenanceWindow, window_id)
    if window is None or window.cancelled_at is not None:
        raise MaintenanceError(f"no scheduled maintenance window #{window_id}")
    window.cancelled_at = now or utcnow()
    return window
