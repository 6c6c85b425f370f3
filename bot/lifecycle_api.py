"""The REST side of a ticket's life: waiting on the customer, an owner (bearer token, like /api/tickets).

`POST /api/tickets/{id}/waiting` `{"question", "agent"}`: the customer is asked, the clock held.
`POST /api/tickets/{id}/owner` `{"agent"}`: the agent owns the ticket. Both answer the ticket
JSON; a ticket that cannot take the change is 409 with the reason, a missing one 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import BaseModel, Field

from bot.api import MAX_ID, ServicesDep, require_token
from bot.services import Services
from desk import lifecycle
from desk.serialize import ticket_json
from desk.ticket_transitions import TicketError

router = APIRouter(prefix="/api", tags=["tickets"], dependencies=[Depends(require_token)])

TicketId = Annotated[int, Path(ge=1, le=MAX_ID)]


class WaitingRequest(BaseModel):
    question: str = Field(
        min_length=1, max_length=lifecycle.MAX_QUESTION, description="asked of the customer"
    )
    agent: str = Field(min_length=1, max_length=100, description="who asks (shown to the customer)")


class OwnerRequest(BaseModel):
    agent: str = Field(
        min_length=1, max_length=100, description="the new owner, e.g. `alice` or `slack:U123`"
    )


def _actor(agent: str) -> str:
    """An agent named through the API goes on the trail as `api:NAME` unless it names its kind."""
    agent = agent.strip()
    return agent if ":" in agent else f"api:{agent}"


async def _answer(svc: Services, ticket_id: int) -> dict[str, Any]:
    async with svc.db.reader() as session:
        ticket = await svc.tickets.get(session, ticket_id, with_events=True)
    assert ticket is not None
    return ticket_json(ticket, service=svc.tickets, now=svc.engine.now())


def _refused(exc: TicketError) -> HTTPException:
    message = str(exc)
    return HTTPException(404 if "does not exist" in message else 409, message)


@router.post("/tickets/{ticket_id}/waiting")
async def wait_on_customer(svc: ServicesDep, ticket_id: TicketId, body: WaitingRequest) -> dict[str, Any]:
    """Ask the customer a question and pause the response clock until they answer."""
    if not body.question.strip() or not body.agent.strip():
        raise HTTPException(422, "question and agent must not be blank")
    try:
        async with svc.db.session() as session:
            await lifecycle.wait_on_customer(
                session,
                tickets=svc.tickets,
                ticket_id=ticket_id,
                question=body.question,
                actor=_actor(body.agent),
                agent_name=body.agent.split(":", 1)[-1],
                now=svc.engine.now(),
            )
    except TicketError as exc:
        raise _refused(exc) from None
    return await _answer(svc, ticket_id)


@router.post("/tickets/{ticket_id}/owner")
async def set_owner(svc: ServicesDep, ticket_id: TicketId, body: OwnerRequest) -> dict[str, Any]:
    """Make an agent the ticket's owner (SLA reminders mention them)."""
    if not body.agent.strip():
        raise HTTPException(422, "agent must not be blank")
    owner = _actor(body.agent)
    try:
        async with svc.db.session() as session:
            await lifecycle.set_owner(
                session,
                tickets=svc.tickets,
                ticket_id=ticket_id,
                owner=owner,
                actor=owner,
                now=svc.engine.now(),
            )
    except TicketError as exc:
        raise _refused(exc) from None
    return await _answer(svc, ticket_id)
