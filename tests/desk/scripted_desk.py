"""The desk the report tests read: tickets opened and changed at chosen times through the real
TicketService, by one customer, and the moment the reports are asked for."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.services import Services
from desk.tickets import NewTicket
from storage.models import Customer
from tests.helpers import FrozenClock

PP = ZoneInfo("Asia/Phnom_Penh")


def pp(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PP)


NOW = pp(2026, 11, 30, 10, 0)  # Monday 10:00 in Phnom Penh (Nov 23-25: Water Festival holidays)


class Desk:
    """Makes tickets at chosen times through the real TicketService."""

    def __init__(self, services: Services, clock: FrozenClock) -> None:
        self.services = services
        self.clock = clock
        self.customer_id: int | None = None

    async def open(self, at: datetime, priority: str, category: str = "technical") -> int:
        self.clock.set(at)
        async with self.services.db.session() as session:
            if self.customer_id is None:
                customer = Customer(channel="webchat", external_id="cust-1", name="Sokha", created_at=at)
                session.add(customer)
                await session.flush()
                self.customer_id = customer.id
            else:
                found = await session.get(Customer, self.customer_id)
                assert found is not None
                customer = found
            new = NewTicket(
                category=category,
                priority=priority,
                channel="webchat",
                description=f"{priority} {category} problem",
                subject=f"{priority} {category} problem",
                troubleshooting=[],
            )
            ticket = await self.services.tickets.open(session, customer=customer, new=new, now=at)
            return ticket.id

    async def do(self, action: str, ticket_id: int, at: datetime) -> None:
        self.clock.set(at)
        async with self.services.db.session() as session:
            change = getattr(self.services.tickets, action)
            await change(session, ticket_id, actor="agent:U1", now=at)

    async def add(self, *rows: Any) -> None:
        async with self.services.db.session() as session:
            session.add_all(rows)
