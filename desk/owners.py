"""Who owns a ticket: an agent takes it, a manager assigns it, or round-robin among those on shift.

An owner is an actor string (`slack:U123`, `api:alice`). Reminders mention the owner instead of
the whole tier channel. Round-robin (`lifecycle.round_robin`) gives a new ticket to the agent of
its tier who is on shift and was handed a ticket longest ago (never first), so each agent on shift
gets one ticket before anyone gets a second.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AgentShift

HERE = "<!here>"  # Slack's mention of the people active in the tier channel
_SLACK_USER = re.compile(r"slack:([UW][A-Z0-9]+)")


def mention(owner: str | None) -> str:
    """Whom a reminder calls: the owner when there is one, else everyone active in the channel."""
    match = _SLACK_USER.fullmatch(owner or "")
    if match:
        return f"<@{match.group(1)}>"
    return HERE


async def set_shift(session: AsyncSession, *, agent: str, tier: int, on: bool, now: datetime) -> AgentShift:
    """`/support shift on|off`: the agent joins (or leaves) the tier's round-robin."""
    shift = await session.get(AgentShift, (agent, tier), with_for_update=True)
    if shift is None:
        shift = AgentShift(agent=agent, tier=tier, on_shift=on, since=now, assigned=0)
        session.add(shift)
    elif shift.on_shift != on:
        shift.on_shift = on
        shift.since = now
    return shift


async def on_shift(session: AsyncSession, tier: int) -> list[AgentShift]:
    query = select(AgentShift).where(AgentShift.tier == tier, AgentShift.on_shift.is_(True))
    return list((await session.execute(query.order_by(AgentShift.agent))).scalars())


async def next_agent(session: AsyncSession, *, tier: int, now: datetime) -> str | None:
    """The tier's agent on shift whose last ticket is oldest (never assigned first); None if nobody.

    The chosen row is locked (skipping rows locked by another transaction) and stamped in the
    caller's transaction, so two tickets opened at once on PostgreSQL go to two different agents.
    """
    query = (
        select(AgentShift)
        .where(AgentShift.tier == tier, AgentShift.on_shift.is_(True))
        .order_by(
            AgentShift.last_assigned_at.is_not(None),
            AgentShift.last_assigned_at,
            AgentShift.since,
            AgentShift.agent,
        )
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    shift = (await session.execute(query)).scalar_one_or_none()
    if shift is None:
        return None
    shift.last_assigned_at = now
    shift.assigned += 1
    return shift.agent
