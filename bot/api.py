"""The integrators' REST API: tickets (docs/reference.md section 5), agents' replies without Slack,
and NLU parse (section 4)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, field_validator

from bot.channels import CHANNELS
from bot.services import Services
from desk import relay
from desk.serialize import ticket_json
from desk.ticket_transitions import TicketError
from storage.repositories import tickets as ticket_rows

log = structlog.get_logger(__name__)
_bearer = HTTPBearer(auto_error=False)
MAX_ID = 2**63 - 1  # BIGINT: larger ids cannot exist and would overflow the query


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def require_token(
    svc: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Bearer auth; with no SUPPORTBOT_API_TOKEN configured every request is refused."""
    expected = svc.settings.api_token
    given = credentials.credentials if credentials else ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


router = APIRouter(prefix="/api", tags=["tickets"], dependencies=[Depends(require_token)])

Status = Literal["open", "acknowledged", "waiting_customer", "resolved", "closed"]
Priority = Literal["critical", "high", "medium", "low"]
Category = Literal["technical", "billing", "infrastructure", "security"]
if TYPE_CHECKING:
    ChannelName = str
else:  # the registered channels' names, so the OpenAPI document lists them
    ChannelName = Literal[CHANNELS.names()]


@router.get("/tickets")
async def list_tickets(
    svc: ServicesDep,
    status: Status | None = None,
    priority: Priority | None = None,
    category: Category | None = None,
    channel: ChannelName | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="page: tickets with a smaller id")
    ] = None,
) -> dict[str, Any]:
    """Tickets, newest first; page with `before_id` = the last id seen."""
    filters = {"status": status, "priority": priority, "category": category, "channel": channel}
    now = svc.engine.now()
    tickets = await ticket_rows.newest(svc.db, filters=filters, before_id=before_id, limit=limit)
    items = [ticket_json(t, service=svc.tickets, now=now, events=False) for t in tickets]
    return {"tickets": items, "next_before_id": tickets[-1].id if len(tickets) == limit else None}


@router.get("/tickets/{ticket_id}")
async def get_ticket(svc: ServicesDep, ticket_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict[str, Any]:
    async with svc.db.reader() as session:
        ticket = await svc.tickets.get(session, ticket_id, with_events=True)
    if ticket is None:
        raise HTTPException(404, f"ticket {ticket_id} not found")
    return ticket_json(ticket, service=svc.tickets, now=svc.engine.now())


class ErrorBody(BaseModel):
    detail: str


class AgentReply(BaseModel):
    """An agent's answer to the customer, or with `internal` a note only agents see."""

    text: str = Field(min_length=1, max_length=relay.MAX_REPLY, description="what the customer reads")
    agent: str = Field(min_length=1, max_length=100, description="the agent's name, shown to the customer")
    internal: bool = Field(False, description="a note on the ticket for agents; never sent to the customer")

    @field_validator("text", "agent")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


_REPLY_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong bearer token"},
    404: {"model": ErrorBody, "description": "no such ticket"},
    409: {"model": ErrorBody, "description": "the customer deleted their data and cannot be reached"},
    413: {"model": ErrorBody, "description": "request body larger than 64 KiB"},
    422: {"description": "invalid body: text or agent missing or blank, text over 4,000 characters"},
}


@router.post("/tickets/{ticket_id}/replies", status_code=201, responses=_REPLY_ERRORS)
async def reply_to_ticket(
    request: Request, svc: ServicesDep, ticket_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: AgentReply
) -> dict[str, Any]:
    """An agent's reply without Slack: it reaches the customer on their channel as a Slack thread
    reply does (the open web chat at once, else when they return; Telegram), and the first one is
    the ticket's first response. `internal: true` keeps it on the ticket as a note."""
    agent = relay.Agent(actor=f"api:{body.agent}", name=body.agent)
    now = svc.engine.now()
    first_response = False
    try:
        async with svc.db.session() as session:
            if await svc.tickets.get(session, ticket_id) is None:
                raise HTTPException(404, f"ticket {ticket_id} not found")
            if body.internal:
                await relay.internal_note(
                    session,
                    tickets=svc.tickets,
                    ticket_id=ticket_id,
                    text=body.text,
                    agent=agent,
                    now=now,
                    echo=True,
                )
            else:
                relayed = await relay.agent_reply(
                    session,
                    tickets=svc.tickets,
                    ticket_id=ticket_id,
                    text=body.text,
                    agent=agent,
                    now=now,
                    echo=True,
                )
                first_response = relayed.first_response
    except relay.CustomerGone as exc:
        raise HTTPException(409, str(exc)) from None
    except TicketError as exc:
        raise HTTPException(422, str(exc)) from None
    if not body.internal:
        await _deliver_now(request, ticket_id)
    async with svc.db.reader() as session:
        ticket = await svc.tickets.get(session, ticket_id, with_events=True)
    assert ticket is not None
    return {
        "internal": body.internal,
        "first_response": first_response,
        "ticket": ticket_json(ticket, service=svc.tickets, now=svc.engine.now()),
    }


async def _deliver_now(request: Request, ticket_id: int) -> None:
    """Send the reply now rather than at the outbox job's next run (which still covers a failure)."""
    delivery = getattr(request.app.state, "delivery", None)
    if delivery is None:
        return
    try:
        await delivery.run_once(ticket_id=ticket_id)
    except Exception:  # the outbox job retries it
        log.exception("api_deliver_now_failed", ticket_id=ticket_id)


class ParseRequest(BaseModel):
    text: str = Field(max_length=16_000)
    message_id: str | None = None


model_router = APIRouter(tags=["nlu"])


@model_router.post("/model/parse")
async def parse(body: ParseRequest, svc: ServicesDep) -> dict[str, Any]:
    """Rasa's parse result for the text, from the active NLU backend."""
    return await svc.nlu.parse(body.text)
