"""What every flow shares: the desk it works with, the router to hand over to, common buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING

from actions.language import SET_LANGUAGE
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.turn import Turn
from desk.policy import Policy
from desk.sla import SlaClock
from desk.tickets import TicketService
from nlu.intents import Intent

if TYPE_CHECKING:
    from actions.router import Router

# A report's intent names its category.
REPORT_CATEGORIES: dict[str, str] = {
    Intent.REPORT_TECHNICAL_ISSUE: "technical",
    Intent.REPORT_BILLING_ISSUE: "billing",
    Intent.REPORT_INFRASTRUCTURE_ISSUE: "infrastructure",
    Intent.REPORT_SECURITY_ISSUE: "security",
}
# Questions answered in any state (an intake in progress asks its step again after them).
INFO_INTENTS: tuple[Intent, ...] = (
    Intent.WORKING_HOURS,
    Intent.CONTACT_CHANNELS,
    Intent.MAINTENANCE_INFO,
    Intent.TICKET_STATUS,
    Intent.HELP,
)


class Flow:
    """A flow decides replies for the turns that are its own; others go through `router`."""

    def __init__(self, router: Router) -> None:
        self.router = router

    @property
    def policy(self) -> Policy:
        return self.router.policy

    @property
    def tickets(self) -> TicketService:
        return self.router.tickets

    @property
    def clock(self) -> SlaClock:
        return self.router.tickets.clock


def menu_buttons(t: Turn) -> tuple[Button, ...]:
    return (
        Button(t.say("menu.report"), make_payload(Intent.REPORT_ISSUE)),
        Button(t.say("menu.tickets"), make_payload(Intent.TICKET_STATUS)),
        Button(t.say("menu.hours"), make_payload(Intent.WORKING_HOURS)),
        Button(t.say("menu.contact"), make_payload(Intent.CONTACT_CHANNELS)),
        Button(t.say("menu.person"), make_payload(Intent.HUMAN_HANDOFF)),
        # Titled in the language it switches to: "ភាសាខ្មែរ" for English readers, "English" in Khmer.
        Button(t.say("menu.language"), make_payload(SET_LANGUAGE, language="en" if t.lang == "km" else "km")),
    )


def limit_reply(t: Turn, policy: Policy) -> Reply:
    """The daily ticket limit is reached: the customer's open tickets are where to go."""
    tickets = Button(t.say("menu.tickets"), make_payload(Intent.TICKET_STATUS))
    return t.reply("ticket.limit_reached", tickets, limit=policy.limits.open_tickets_per_day)


def yes_no(t: Turn) -> tuple[Button, ...]:
    return (
        Button(t.say("button.yes"), make_payload(Intent.AFFIRM)),
        Button(t.say("button.no"), make_payload(Intent.DENY)),
    )
