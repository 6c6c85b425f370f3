"""The intake: from a report to a ticket, one step of actions/flows/intake_steps.py at a time.

Questions and "talk to a person" work at any step (the step is asked again after a question);
"cancel" leaves the intake at any step.
"""

from __future__ import annotations

from datetime import datetime

from actions import render
from actions.catalog import DEFAULT_LANGUAGE, label, text
from actions.flows.base import INFO_INTENTS, REPORT_CATEGORIES, Flow, limit_reply, menu_buttons
from actions.flows.intake_answers import INTERRUPT_CONFIDENCE, Answer, Outcome, Retry
from actions.flows.intake_steps import STEP_BY_NAME, STEPS, current_check
from actions.messages import Reply
from actions.turn import Turn
from desk import metrics
from desk.policy import CATEGORIES
from desk.tickets import NewTicket, TicketLimitReached
from desk.triage import subject_of, suggest_priority
from nlu.intents import Intent
from storage.models import Ticket

# Below this confidence a report is real but its category is a guess: ask with buttons.
CATEGORY_CONFIDENCE = 0.55
# "Cancel" typed in a free-text step leaves the intake from this confidence on.
CANCEL_CONFIDENCE = 0.6


class IntakeFlow(Flow):
    def start(self, t: Turn) -> list[Reply]:
        """A report: keep what the message tells (category, description), then ask the rest."""
        intake = t.state.start_intake()
        category = REPORT_CATEGORIES.get(t.intent)
        if category and (t.is_payload or t.confidence >= CATEGORY_CONFIDENCE):
            intake.category = category
        if t.is_payload:
            if t.slots.get("category") in CATEGORIES:
                intake.category = t.slots["category"]
        else:
            intake.description = t.text
            intake.suggested_priority = suggest_priority(t.text)
        return [t.reply("intake.intro"), *self.advance(t)]

    def advance(self, t: Turn) -> list[Reply]:
        """Ask for the first thing the intake still lacks (the last step, confirm, always is)."""
        for step in STEPS:
            if step.pending(self.policy, t):
                t.state.step = step.name
                return step.prompt(self.policy, t)
        raise AssertionError("the confirmation step is always pending")

    async def turn(self, t: Turn) -> list[Reply]:
        step = STEP_BY_NAME.get(t.state.step or "")
        free_text = step is not None and step.free_text
        interrupt = t.is_payload or not free_text or t.confidence >= INTERRUPT_CONFIDENCE
        if t.intent == Intent.CANCEL and (interrupt or t.confidence >= CANCEL_CONFIDENCE):
            t.state.clear()
            return [t.reply("intake.cancelled", *menu_buttons(t))]
        if t.intent == Intent.HUMAN_HANDOFF and interrupt:
            return await self.router.handoff.start(t)
        if t.intent in INFO_INTENTS and interrupt:
            return [*await self.router.info.answer(t, t.intent), *self.advance(t)]
        if t.intent == Intent.GREET and not free_text:
            return [t.reply("intake.greet_again"), *self.advance(t)]
        if step is None:
            return self.advance(t)
        parsed = step.parse(self.policy, t)
        if isinstance(parsed, Retry):
            hint = t.reply(parsed.hint)
            return [hint, *self.advance(t)] if parsed.ask_again else [hint]
        if isinstance(parsed, Answer):
            step.store(t, parsed.value)
            noted = [t.reply(step.noted)] if step.noted else []
            return [*noted, *self.advance(t)]
        return await self.finish(t, parsed)

    async def finish(self, t: Turn, outcome: Outcome) -> list[Reply]:
        """An answer that ends the intake, with or without a ticket."""
        if outcome is Outcome.OPEN_TICKET:
            try:
                return await self.open_ticket(t)
            except TicketLimitReached:
                t.state.clear()
                return [limit_reply(t, self.policy)]
        if outcome is Outcome.SOLVED:
            i = t.intake
            t.repo.record_self_service(
                conversation_id=t.conversation.id,
                channel=t.msg.channel,
                category=i.category or "",
                step=current_check(self.policy, i),
                at=t.now,
            )
            metrics.SELF_SERVICE.labels(i.category or "").inc()
            t.state.clear()
            return [t.reply("intake.troubleshoot.solved")]
        t.state.clear()
        if outcome is Outcome.DECLINED:
            return [t.reply("intake.exclusion.declined", *menu_buttons(t))]
        return [t.reply("intake.confirm.discarded", *menu_buttons(t))]

    async def open_ticket(self, t: Turn) -> list[Reply]:
        i = t.intake
        customer = t.customer
        customer.name = i.name or customer.name
        customer.email = i.email or customer.email
        customer.phone = i.phone or customer.phone
        ticket = await self.tickets.open(
            t.repo.session,
            customer=customer,
            now=t.now,
            daily_limit=True,
            new=NewTicket(
                category=i.category or "technical",
                priority=i.priority or "medium",
                channel=t.msg.channel,
                description=i.description or "",
                subject=subject_of(i.description or ""),
                troubleshooting=list(i.troubleshooting),
                exclusion=i.exclusion,
                conversation_id=t.conversation.id,
                attachment_ids=tuple(i.attachments),
            ),
        )
        metrics.TICKETS_OPENED.labels(ticket.category, ticket.priority, ticket.channel).inc()
        t.state.clear()
        return [Reply(self.router._opened_text(ticket, t.now, name=i.name, lang=t.lang))]

    def opened_text(
        self, ticket: Ticket, now: datetime, *, name: str | None = None, lang: str = DEFAULT_LANGUAGE
    ) -> str:
        """The ticket's number, category, priority and reply deadline; out of hours, when we're back."""
        policy = self.policy
        facts = {
            "id": ticket.id,
            "category": policy.categories[ticket.category].title,
            "priority": label("priority", ticket.priority, lang),
            "due": render.when(ticket.response_due_at, policy),
            "zone": render.zone_label(policy, lang),
        }
        parts = [
            text("ticket.opened.thanks", lang, name=name, **facts)
            if name
            else text("ticket.opened", lang, **facts)
        ]
        if not self.clock.is_business_time(now):
            back = render.when(self.clock.next_opening(now), policy)
            parts.append(text("ticket.opened.after_hours", lang, back=back))
            parts.append(render.weekend_note(policy, lang))
        if ticket.maintenance_id is not None:
            parts.append(text("ticket.opened.maintenance", lang))
        if ticket.exclusion:
            parts.append(text("ticket.opened.exclusion", lang))
        parts.append(text("ticket.opened.status_hint", lang))
        return " ".join(parts)
