"""`DELETE /api/customers/{id}`: forget a customer (bearer token), as their own "delete my data" does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Response

from bot.api import ServicesDep, require_token
from desk import privacy

router = APIRouter(prefix="/api", tags=["customers"], dependencies=[Depends(require_token)])


@router.delete(
    "/customers/{customer_id}",
    status_code=204,
    responses={
        401: {"description": "missing or wrong bearer token"},
        404: {"description": "no such customer"},
    },
)
async def forget_customer(
    svc: ServicesDep, customer_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> Response:
    """Remove the customer's contact details and scrub their emails, phones and card numbers from
    every copy (tickets, audit events, notifications, attachments); tickets stay, anonymous."""
    async with svc.db.session() as session:
        kept = await privacy.forget_by_id(
            session, tickets=svc.tickets, customer_id=customer_id, now=svc.engine.now()
        )
    if kept is None:
        raise HTTPException(404, "no such customer")
    return Response(status_code=204)
