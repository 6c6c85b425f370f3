"""The integrators' REST API: tickets (docs/reference.md section 5) and NLU parse (section 4)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from bot.channels import CHANNELS
from bot.services import Services
from desk.serialize import ticket_json
from storage.repositories import tickets as ticket_rows

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


class ParseRequest(BaseModel):
    text: str = Field(max_length=16_000)
    message_id: str | None = None


model_router = APIRouter(tags=["nlu"])


@model_router.post("/model/parse")
async def parse(body: ParseRequest, svc: ServicesDep) -> dict[str, Any]:
    """Rasa's parse result for the text, from the active NLU backend."""
    return await svc.nlu.parse(body.text)
