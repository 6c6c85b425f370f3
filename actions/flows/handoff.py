"""Handoff: bring in a person, then relay the customer's messages to the ticket's agents."""

from __future__ import annotations

from actions import render
from actions.flows.base import Flow, limit_reply, menu_buttons
from actions.messages import Button, Reply
from actions.payload import make_payload
from actions.state import Intake
from actions.turn import Turn
from desk import metrics
from desk.constants import OPEN_STATUSES
from desk.tickets import NewTicket, TicketLimitReached
from desk.triage import subject_of
from nlu.intents import Intent

# The ticket's description (for the agents) when the customer said nothing about the problem.
NO_DESCRIPTION = "The customer asked to talk to a person."


class HandoffFlow(Flow):
    def back_button(self, t: Turn) -> Button:
        return Button(t.say("button.back_to_bot"), make_payload(Intent.BACK_TO_BOT))

    async def start(self, t: Turn) -> list[Reply]:
        """Bring in a person; past the daily ticket limit, the customer is pointed at their tickets."""
        try:
            return await self._start(t)
        except TicketLimitReached:
            t.state.clear()
            return [limit_reply(t, self.policy)]

    async def _start(self, t: Turn) -> list[Reply]:
        """Bring in a person: link the customer's open ticket, or open one from what we know."""
        metrics.HANDOFFS.inc()
        session = t.repo.session
        ticket = await self.tickets.open_for_customer(session, t.customer.id)
        key = "handoff.linked"
        if ticket is None:
            i = t.state.intake or Intake()
            description = i.description or (t.text if not t.is_payload else "") or NO_DESCRIPTION
            ticket = await self.tickets.open(
                session,
                customer=t.customer,
                now=t.now,
                actor=t.actor,
                daily_limit=True,
                new=NewTicket(
                    category=i.category or "technical",
                    priority=i.priority or i.suggested_priority or "medium",
                    channel=t.msg.channel,
                    description=description,
                    subject=subject_of(description),
                    troubleshooting=list(i.troubleshooting),
                    exclusion=i.exclusion,
                    conversation_id=t.conversation.id,
                    attachment_ids=tuple(i.attachments),
                ),
            )
            metrics.TICKETS_OPENED.labels(ticket.category, ticket.priority, ticket.channel).inc()
            key = "handoff.opened"
        await self.tickets.request_human(session, ticket.id, actor=t.actor, now=t.now)
        t.state.clear()
        t.state.handoff_acknowledged = False
        t.conversation.handoff_ticket_id = ticket.id
        text = t.say(
            key,
            id=ticket.id,
            due=render.when(ticket.response_due_at, self.policy),
            zone=render.zone_label(self.policy, t.lang),
        )
        if not self.clock.is_business_time(t.now):
            text += f" {render.open_status(self.policy, self.clock, t.now, t.lang)}"
        return [Reply(text, (self.back_button(t),))]

    async def turn(self, t: Turn) -> list[Reply] | None:
        """While a person has the conversation the bot relays and stays quiet; None hands back."""
        ticket_id = t.conversation.handoff_ticket_id
        assert ticket_id is not None
        ticket = await self.tickets.get(t.repo.session, ticket_id)
        if t.intent == Intent.BACK_TO_BOT or ticket is None or ticket.status not in OPEN_STATUSES:
            t.conversation.handoff_ticket_id = None
            t.state.handoff_acknowledged = False
            if t.intent == Intent.BACK_TO_BOT:
                return [t.reply("handoff.back", *menu_buttons(t))]
            return None
        if t.intent == Intent.HUMAN_HANDOFF:
            return [t.reply("handoff.already", id=ticket_id)]
        await self.tickets.add_customer_message(
            t.repo.session, ticket_id, text=t.text, actor=t.actor, now=t.now
        )
        if t.state.handoff_acknowledged:
            return []
        t.state.handoff_acknowledged = True
        return [t.reply("handoff.passed_on", self.back_button(t), id=ticket_id)]
