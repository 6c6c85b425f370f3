"""Maintenance windows as the transports read them."""

from __future__ import annotations

from storage.models import MaintenanceWindow
from storage.repositories import Session


async def window(session: Session, window_id: int | None) -> MaintenanceWindow | None:
    return await session.get(MaintenanceWindow, window_id) if window_id else None
