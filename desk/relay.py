"""Agents talking to customers: replies relayed from the agents' desk, internal notes, agent mode.

Channel-independent: the Slack desk (or any other agents' tool) calls these with the agent's
identity; each writes its audit event and the customer's notification (an outbox row) in the
caller's transaction. While an agent handles a conversation (`Conversation.handoff_ticket_id`
set, state `handoff_acknowledged`), the bot stays quiet and relays what the customer writes to
the ticket's agents (actions/flows/handoff.py), acknowledging each message.

Every agents' tool gives the same result: Slack thread replies (bot/slack/agent_replies.py),
`POST /api/tickets/{id}/replies` (bot/api.py) and `supportbot tickets reply` (bot/tickets_cli.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from desk import outbox
from desk.constants import OutboxEvent
from desk.ticket_transitions import TicketError
from desk.tickets import OPEN_STATUSES, TicketService
from storage.models import Conversation, Ticket, TicketEvent

DEFAULT_AGENT_NAME = "Support"
MAX_REPLY = 4000
# desk/privacy.py re-keys a customer who deleted their data: no chat reaches them any more.
FORGOTTEN_PREFIX = "forgotten-"


# Replies and notes written outside the agents' chat desk (API, terminal) are echoed to the ticket's
# thread there, so agents in Slack see them; the desk renders an event it has no layout for as
# its escaped text in the thread.
ECHO_EVENT = "agent_reply"


def _echo(session: AsyncSession, tickets: TicketService, ticket: Ticket, text: str, now: datetime) -> None:
    outbox.enqueue(
        session,
        kind=outbox.AGENT,
        target=tickets.policy.escalation.tiers[ticket.tier].slack_channel,
        now=now,
        ticket_id=ticket.id,
        payload={"event": ECHO_EVENT, "ticket_id": ticket.id, "text": text},
    )


class CustomerGone(TicketError):
    """The ticket's customer deleted their data: a reply cannot reach them."""


@dataclass(frozen=True)
class Agent:
    """Who answers: `actor` goes on the audit trail (e.g. `slack:U123`), `name` to the customer."""

    actor: str
    name: str | None = None

    @property
    def signature(self) -> str:
        return (self.name or "").strip() or DEFAULT_AGENT_NAME


@dataclass(frozen=True)
class Relayed:
    """What `agent_reply` did."""

    ticket: Ticket
    target: str  # the customer's outbox target, `channel:sender`
    agent_mode_started: bool  # the conversation has just been handed to the agent
    first_response: bool  # this reply stopped the SLA clock


async def _ticket(session: AsyncSession, tickets: TicketService, ticket_id: int) -> Ticket:
    ticket = await tickets.get(session, ticket_id)
    if ticket is None:
        raise TicketError(f"ticket #{ticket_id} does not exist")
    return ticket


async def _conversation(session: AsyncSession, ticket: Ticket) -> Conversation | None:
    """The ticket's conversation, locked: a customer turn running now must not overwrite us."""
    if ticket.conversation_id is None:
        return None
    query = select(Conversation).where(Conversation.id == ticket.conversation_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def _replied_since_back_to_bot(session: AsyncSession, ticket_id: int) -> bool:
    """An agent already replied in the current agent-mode spell of this ticket."""
    query = (
        select(TicketEvent.kind)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind.in_(("agent_reply", "back_to_bot")))
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none() == "agent_reply"


async def agent_reply(
    session: AsyncSession,
    *,
    tickets: TicketService,
    ticket_id: int,
    text: str,
    agent: Agent,
    now: datetime,
    echo: bool = False,
) -> Relayed:
    """Send an agent's reply to the customer; it is the first response, and the bot steps aside."""
    text = text.strip()[:MAX_REPLY]
    if not text:
        raise TicketError("an empty reply cannot be sent")
    ticket = await _ticket(session, tickets, ticket_id)
    customer = ticket.customer
    if customer.external_id.startswith(FORGOTTEN_PREFIX):
        raise CustomerGone(
            f"the customer of ticket #{ticket.id} deleted their data and cannot be reached in chat"
        )
    already_replied = await _replied_since_back_to_bot(session, ticket.id)
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            kind="agent_reply",
            actor=agent.actor,
            data={"text": text, "agent": agent.name},
        )
    )
    answered_before = ticket.first_response_at is not None
    await tickets.record_first_response(session, ticket.id, actor=agent.actor, now=now)
    target = outbox.customer_target(customer.channel, customer.external_id)
    outbox.enqueue(
        session,
        kind=outbox.CUSTOMER,
        target=target,
        now=now,
        ticket_id=ticket.id,
        payload=outbox.notice("desk.agent_reply", ticket.language, agent=agent.signature, text=text),
    )
    if echo:
        _echo(session, tickets, ticket, f"{agent.signature} replied to the customer: {text}", now)
        if not answered_before:  # the card shows the first response
            payload = {"event": OutboxEvent.TICKET_UPDATED, "ticket_id": ticket.id}
            desk_channel = tickets.policy.escalation.tiers[ticket.tier].slack_channel
            outbox.enqueue(
                session, kind=outbox.AGENT, target=desk_channel, now=now, ticket_id=ticket.id, payload=payload
            )
    started = False
    conversation = await _conversation(session, ticket) if ticket.status in OPEN_STATUSES else None
    if conversation is not None:
        started = conversation.handoff_ticket_id != ticket.id or not already_replied
        conversation.handoff_ticket_id = ticket.id
        # A new dict: the ORM sees the change (the JSON is not mutated in place).
        conversation.state = {**(conversation.state or {}), "handoff_acknowledged": True}
    return Relayed(
        ticket=ticket, target=target, agent_mode_started=started, first_response=not answered_before
    )


async def internal_note(
    session: AsyncSession,
    *,
    tickets: TicketService,
    ticket_id: int,
    text: str,
    agent: Agent,
    now: datetime,
    echo: bool = False,
) -> Ticket:
    """An agents-only note on the ticket's trail; the customer never sees it."""
    text = text.strip()[:MAX_REPLY]
    ticket = await _ticket(session, tickets, ticket_id)
    session.add(
        TicketEvent(ticket_id=ticket.id, at=now, kind="internal_note", actor=agent.actor, data={"text": text})
    )
    if echo:
        _echo(session, tickets, ticket, f"Note by {agent.signature}: {text}", now)
    return ticket


async def back_to_bot(
    session: AsyncSession,
    *,
    tickets: TicketService,
    ticket_id: int,
    agent: Agent,
    now: datetime,
) -> bool:
    """End agent mode on the ticket's conversation and tell the customer; False when it was not on."""
    ticket = await _ticket(session, tickets, ticket_id)
    conversation = await _conversation(session, ticket)
    if conversation is None or conversation.handoff_ticket_id != ticket.id:
        return False
    conversation.handoff_ticket_id = None
    conversation.state = {**(conversation.state or {}), "handoff_acknowledged": False}
    session.add(TicketEvent(ticket_id=ticket.id, at=now, kind="back_to_bot", actor=agent.actor, data={}))
    customer = ticket.customer
    outbox.enqueue(
        session,
        kind=outbox.CUSTOMER,
        target=outbox.customer_target(customer.channel, customer.external_id),
        now=now,
        ticket_id=ticket.id,
        payload=outbox.notice("desk.back_to_bot", ticket.language),
    )
    return True
